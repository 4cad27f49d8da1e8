"""The codec server for the Temporal Web UI: `/encode` and `/decode`, as the UI calls them.

The UI posts `{"payloads": [{"metadata": {k: base64}, "data": base64}]}` with `X-Namespace`
and the signed-in person's own token (through `linkage ui-gate`, which adds it). Both endpoints
answer only `Authorization: Bearer <token>` of a principal allowed to see personal data (a
supervisor or the duty desks), always: no credential, another scheme or a token that does not
verify is 401, a valid token of another role 403 (written to the audit log, as every refusal
by the policy). There is no "no token means someone": whoever decodes is named by a token. Each
decode is written to the audit log with who, the namespace and the workflow (from the page the
UI is on). A body that is too large, not JSON, of the wrong shape, not base64, or ciphertext
that does not open with the keyring is a 4xx saying which, never a 500.
/healthz, /readyz (linkage.records.health) and /metrics (linkage.metrics: each decode counted by
role and outcome) take no token and decode nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from linkage.interfaces.api.errors import error
from linkage.metrics.http import install_codec_metrics
from linkage.records.audit import AuditLog
from linkage.records.health import Readiness, add_health_routes, connected_once
from linkage.trust.policy import authorize
from linkage.trust.principals import Principal
from linkage.trust.tokens import Forbidden, TokenVerifier, Unauthenticated

# A history page's payloads, with room to spare: Temporal refuses a payload over 2 MB itself.
MAX_BODY = 4 * 1024 * 1024
# The Web UI's pages name the workflow: /namespaces/NS/workflows/WORKFLOW_ID/RUN_ID/...
_WORKFLOW_IN_PAGE = re.compile(r"/namespaces/[^/]+/workflows/([^/?#]+)")
# Protobuf's JSON takes standard or URL-safe base64, padded or not; it would skip other signs.
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")


class BadRequest(Exception):
    """The caller's mistake: a status, a code, the message and the field."""

    def __init__(self, status: int, code: str, message: str, field: str = "payloads") -> None:
        super().__init__(message)
        self.status, self.code, self.field = status, code, field


def _workflow_of(request: Request) -> str:
    given = request.headers.get("x-workflow-id", "")
    if given:
        return given[:100]
    page = request.headers.get("referer", "")
    found = _WORKFLOW_IN_PAGE.search(page)
    return found.group(1)[:100] if found else ""


def credential(header: str | None) -> str:
    """The token of `Authorization: Bearer <token>`; Unauthenticated for anything else."""
    hint = "send Authorization: Bearer <token> (a linkage token that may see personal data)"
    if not header or not header.strip():
        raise Unauthenticated(f"no credential: {hint}")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthenticated(f"Authorization scheme {scheme[:20]!r} is not accepted: {hint}")
    if not value.strip():
        raise Unauthenticated(f"Authorization: Bearer without a token: {hint}")
    return value.strip()


async def _read(request: Request, limit: int) -> bytes:
    """The body, refused (413) past `limit` bytes whether or not it says its length."""
    too_large = BadRequest(413, "too_large", f"body: more than {limit} bytes", "body")
    declared = request.headers.get("content-length", "")
    if declared and not (declared.isascii() and declared.isdigit()):
        raise BadRequest(400, "invalid", "Content-Length: not a number of bytes", "body")
    if declared and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _payloads(raw: bytes) -> list[Payload]:
    try:
        body: Any = json.loads(raw)
    except (ValueError, RecursionError) as err:
        raise BadRequest(422, "invalid_json", f"body: not JSON ({err})", "body") from None
    if not isinstance(body, dict) or not isinstance(body.get("payloads"), list):
        raise BadRequest(422, "invalid", "payloads: a list of {metadata, data} is required")
    for i, payload in enumerate(body["payloads"]):
        if not isinstance(payload, dict):
            raise BadRequest(422, "invalid", f"payloads[{i}]: an object {{metadata, data}}")
        metadata = payload.get("metadata") or {}
        values = metadata.values() if isinstance(metadata, dict) else []
        for value in [payload.get("data") or "", *values]:
            if not isinstance(value, str) or not _BASE64.fullmatch(value):
                raise BadRequest(422, "invalid", f"payloads[{i}]: data and metadata are base64")
    try:
        return list(json_format.ParseDict(body, Payloads()).payloads)
    except (json_format.ParseError, ValueError, TypeError) as err:
        raise BadRequest(422, "invalid", f"payloads: {err}") from None


def _as_json(payloads: Sequence[Payload]) -> dict:
    found = json_format.MessageToDict(Payloads(payloads=list(payloads)))
    return {"payloads": found.get("payloads", [])}  # an empty list is still a list


def make_codec_app(
    codec: PayloadCodec,
    verifier: TokenVerifier,
    audit: AuditLog,
    origins: Sequence[str] = ("http://localhost:8233",),
    readiness: Readiness | None = None,
    max_body: int = MAX_BODY,
) -> FastAPI:
    """The app over a codec. `readiness`: by default the audit's database and the Temporal of
    the environment. `max_body`: the largest request body read, in bytes."""
    app = FastAPI(title="linkage codec server", docs_url=None, redoc_url=None)
    if readiness is None:
        from linkage.trust.temporal import connect

        url = audit.engine.url.render_as_string(hide_password=False)
        readiness = Readiness(url, connected_once(connect))
    add_health_routes(app, lambda: readiness)
    metrics = install_codec_metrics(app)  # GET /metrics: decodes by role and outcome
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_credentials=True,
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace", "X-Workflow-Id"],
    )

    async def handle(request: Request, decoding: bool):
        action = "decode" if decoding else "encode"
        workflow = _workflow_of(request)
        detail = {"namespace": request.headers.get("x-namespace", "")[:200], "workflow": workflow}
        incident = workflow.split(".")[0]
        role = "none"  # no valid token yet

        def counted(outcome: str) -> None:
            if decoding:
                metrics.decode(role, outcome)

        try:
            principal: Principal = verifier.verify(credential(request.headers.get("authorization")))
        except Unauthenticated as err:
            counted("refused")
            return error(401, "unauthenticated", str(err), headers={"WWW-Authenticate": "Bearer"})
        role = str(principal.role)
        try:
            authorize(principal, "decode")
        except Forbidden as err:
            counted("refused")
            audit.record(
                principal,
                action,
                incident_id=incident,
                allowed=False,
                reason=str(err),
                via="codec",
                detail=detail,
            )
            return error(403, "forbidden", str(err))
        try:
            payloads = _payloads(await _read(request, max_body))
            try:
                done = await (codec.decode(payloads) if decoding else codec.encode(payloads))
            except (ValueError, DecodeError) as err:  # not ciphertext of ours, or not our key
                why = f"payloads: cannot be {action}d: {err}"
                raise BadRequest(422, "undecodable", why) from None
        except BadRequest as err:
            counted("malformed")
            return error(err.status, err.code, str(err), err.field)
        counted("decoded")
        audit.record(
            principal,
            action,
            incident_id=incident,
            via="codec",
            detail={**detail, "payloads": len(payloads)},
        )
        return _as_json(done)

    @app.post("/decode")
    async def decode(request: Request):
        return await handle(request, decoding=True)

    @app.post("/encode")
    async def encode(request: Request):
        return await handle(request, decoding=False)

    return app


def serve_codec(host: str = "127.0.0.1", port: int = 8381, origins: Sequence[str] = ()) -> int:
    """Run the codec server (uvicorn) with the project's codec until interrupted."""
    import uvicorn

    from linkage.records.store import Store
    from linkage.records.tokens import TokenRecords
    from linkage.settings.config import Settings
    from linkage.trust.auth_config import load_auth_config
    from linkage.trust.codec import load_codec

    store = Store(Settings().database_url)
    config = load_auth_config()
    verifier = TokenVerifier(config, revoked=TokenRecords(store.engine).revoked_at)
    app = make_codec_app(
        load_codec(),
        verifier,
        AuditLog(store.engine),
        [*config.ui.origins, *origins],
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0
