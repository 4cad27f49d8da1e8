"""The gate in front of the Temporal Web UI on a cluster: a person signs in with their own
linkage token; the gate then lets the UI read Temporal with the supervisors' read-only
credential (which never leaves the gate), and takes the UI's codec calls to the codec server
with the person's own token, so that decoding is authorised and audited as them.

The UI server itself sends Temporal no credential of its own: reached without the gate, it
gets nothing from the cluster.
"""

from __future__ import annotations

import contextlib
import html
import time
from collections.abc import Sequence
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from linkage.records.audit import AuditLog
from linkage.trust.policy import authorize
from linkage.trust.principals import Principal
from linkage.trust.tokens import Forbidden, TokenVerifier, Unauthenticated

COOKIE = "linkage_session"
HOP_BY_HOP = {
    *("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te"),
    *("trailers", "transfer-encoding", "upgrade", "host", "cookie", "authorization"),
    "content-length",
    "content-encoding",
}
SHIFT = 12 * 3600  # a sign-in lasts a shift at most (and never beyond the token's own expiry)
CHECK_AGAIN = 30.0  # seconds a verified session is trusted before its token is checked again

LOGIN = """<!doctype html><html lang="zh"><meta charset="utf-8"><title>linkage · 登录</title>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto">
<h1>Temporal Web UI · 12345 与 110 对接联动</h1>
<p>Sign in with your linkage token (<code>linkage token issue</code>); the UI is read-only.</p>
{message}<form method="post" action="/gate/login">
<textarea name="token" rows="6" cols="70" required></textarea><br>
<button type="submit">Sign in 登录</button></form></body></html>"""


def make_gate_app(
    ui_url: str,
    codec_url: str,
    reader_token: str,
    verifier: TokenVerifier,
    audit: AuditLog,
    secure_cookie: bool = False,
) -> FastAPI:
    http = httpx.AsyncClient(timeout=httpx.Timeout(60, connect=5))

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        await http.aclose()

    app = FastAPI(
        title="linkage Web UI gate",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    checked: dict[str, tuple[float, Principal]] = {}

    def session(request: Request) -> tuple[str, Principal] | None:
        token = request.cookies.get(COOKIE, "")
        if not token:
            return None
        found = checked.get(token)
        if found and time.monotonic() - found[0] < CHECK_AGAIN:
            return token, found[1]
        try:
            principal = verifier.verify(token)
            authorize(principal, "watch")
        except (Unauthenticated, Forbidden):
            checked.pop(token, None)
            return None
        checked[token] = (time.monotonic(), principal)
        return token, principal

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "alive"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        """Ready when the UI server answers (Temporal and the records are its own checks)."""
        try:
            answer = await http.get(f"{ui_url}/api/v1/settings", timeout=2)
            ok = answer.status_code == 200
        except httpx.HTTPError:
            ok = False
        checks = {"ui": {"ok": ok}}
        body = {"status": "ready" if ok else "not ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/gate/login")
    async def login_page() -> HTMLResponse:
        return HTMLResponse(LOGIN.format(message=""))

    @app.post("/gate/login")
    async def login(request: Request) -> Response:
        body = await request.body()
        if len(body) > 8192:
            return HTMLResponse(LOGIN.format(message="<p>token: too long</p>"), status_code=413)
        token = (parse_qs(body.decode("utf-8", "replace")).get("token") or [""])[0].strip()
        try:
            principal = verifier.verify(token)
        except Unauthenticated as err:
            page = LOGIN.format(message=f"<p style='color:#b00'>{html.escape(str(err))}</p>")
            return HTMLResponse(page, status_code=401)
        try:
            authorize(principal, "watch")
        except Forbidden as err:
            audit.record(principal, "watch", allowed=False, reason=str(err), via="web-ui")
            page = LOGIN.format(message=f"<p style='color:#b00'>{html.escape(str(err))}</p>")
            return HTMLResponse(page, status_code=403)
        audit.record(principal, "watch", via="web-ui")
        answer = RedirectResponse("/", status_code=303)
        answer.set_cookie(
            COOKIE,
            token,
            max_age=SHIFT,
            httponly=True,
            samesite="lax",
            secure=secure_cookie,
            path="/",
        )
        return answer

    @app.post("/gate/logout")
    async def logout() -> Response:
        answer = RedirectResponse("/gate/login", status_code=303)
        answer.delete_cookie(COOKIE, path="/")
        return answer

    @app.post("/codec/{what}")
    async def codec(what: str, request: Request) -> Response:
        found = session(request)
        if found is None:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        headers = _forwarded(
            request.headers, ("x-namespace", "x-workflow-id", "content-type", "referer")
        )
        headers["authorization"] = f"Bearer {found[0]}"
        body = await request.body()
        return await _relay(http, "POST", f"{codec_url}/{what}", headers, body)

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "OPTIONS"])
    async def ui(path: str, request: Request) -> Response:
        if session(request) is None:
            if path.startswith("api/"):
                return JSONResponse({"error": "sign in first"}, status_code=401)
            return RedirectResponse("/gate/login", status_code=303)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        if path.startswith("api/"):
            headers["authorization"] = f"Bearer {reader_token}"
        target = f"{ui_url}/{path}" + (f"?{request.url.query}" if request.url.query else "")
        return await _relay(http, request.method, target, headers, await request.body())

    return app


def _forwarded(headers, names: Sequence[str]) -> dict[str, str]:
    return {name: headers[name] for name in names if name in headers}


async def _relay(http: httpx.AsyncClient, method: str, url: str, headers, body) -> Response:
    try:
        answer = await http.request(method, url, headers=headers, content=body)
    except httpx.HTTPError as err:
        return JSONResponse({"error": f"not reachable: {type(err).__name__}"}, status_code=502)
    relayed = Response(answer.content, status_code=answer.status_code)
    for key, value in answer.headers.multi_items():  # each Set-Cookie of its own
        if key.lower() not in HOP_BY_HOP:
            relayed.headers.append(key, value)
    return relayed


def serve_gate(args) -> int:
    """`linkage ui-gate`: run the gate (uvicorn) until interrupted."""
    from pathlib import Path

    import uvicorn

    from linkage.client.errors import LinkageError
    from linkage.records.store import Store
    from linkage.records.tokens import TokenRecords
    from linkage.settings.config import Settings
    from linkage.trust.auth_config import load_auth_config

    try:
        reader = Path(args.reader_token_file).read_text(encoding="utf-8").strip()
    except OSError as err:
        raise LinkageError(f"--reader-token-file: cannot read it: {err.strerror}") from None
    if not reader:
        raise LinkageError("--reader-token-file: the file is empty")
    store = Store(Settings().database_url)
    verifier = TokenVerifier(load_auth_config(), revoked=TokenRecords(store.engine).revoked_at)
    app = make_gate_app(
        args.ui.rstrip("/"),
        args.codec.rstrip("/"),
        reader,
        verifier,
        AuditLog(store.engine),
        secure_cookie=args.secure_cookie,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
