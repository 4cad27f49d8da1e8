"""The codec server for the Temporal Web UI: `/encode` and `/decode`, as the UI calls them.

The UI posts `{"payloads": [{"metadata": {k: base64}, "data": base64}]}` with `X-Namespace`
and, when configured to pass it, the signed-in user's access token. Payloads are decoded only
for a principal allowed to see personal data (a supervisor or the duty desks); anyone else is
refused (401 without a valid token, 403 with one of another role). Each decode is written to
the audit log with who, the namespace and the workflow (from the page the UI is on).
/healthz and /readyz (linkage.records.health) take no token and decode nothing.
"""

from __future__ import annotations

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
from linkage.records.audit import AuditLog
from linkage.records.health import Readiness, add_health_routes, connected_once
from linkage.trust.policy import authorize
from linkage.trust.principals import Principal
from linkage.trust.tokens import Forbidden, TokenVerifier, Unauthenticated, bearer

# The Web UI's pages name the workflow: /namespaces/NS/workflows/WORKFLOW_ID/RUN_ID/...
_WORKFLOW_IN_PAGE = re.compile(r"/namespaces/[^/]+/workflows/([^/?#]+)")


def _workflow_of(request: Request) -> str:
    given = request.headers.get("x-workflow-id", "")
    if given:
        return given[:100]
    page = request.headers.get("referer", "")
    found = _WORKFLOW_IN_PAGE.search(page)
    return found.group(1)[:100] if found else ""


def _payloads(body: Any) -> list[Payload]:
    if not isinstance(body, dict) or not isinstance(body.get("payloads"), list):
        raise ValueError("payloads: a list of {metadata, data} is required")
    return list(json_format.ParseDict(body, Payloads()).payloads)


def _as_json(payloads: Sequence[Payload]) -> dict:
    found = json_format.MessageToDict(Payloads(payloads=list(payloads)))
    return {"payloads": found.get("payloads", [])}  # an empty list is still a list


def make_codec_app(
    codec: PayloadCodec,
    verifier: TokenVerifier,
    audit: AuditLog,
    origins: Sequence[str] = ("http://localhost:8233",),
    anonymous: Principal | None = None,
    readiness: Readiness | None = None,
) -> FastAPI:
    """The app over a codec. `anonymous`: the principal a request without a token is taken for
    (only `linkage up` on one machine sets it, to its own supervisor); otherwise 401.
    `readiness`: by default the audit's database and the Temporal of the environment."""
    app = FastAPI(title="linkage codec server", docs_url=None, redoc_url=None)
    if readiness is None:
        from linkage.trust.temporal import connect

        url = audit.engine.url.render_as_string(hide_password=False)
        readiness = Readiness(url, connected_once(connect))
    add_health_routes(app, lambda: readiness)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_credentials=True,
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace", "X-Workflow-Id"],
    )

    def who(request: Request) -> Principal:
        token = bearer(request.headers.get("authorization"))
        if token is None and anonymous is not None:
            return anonymous
        return verifier.verify(token)

    async def handle(request: Request, decoding: bool):
        action = "decode" if decoding else "encode"
        namespace = request.headers.get("x-namespace", "")
        workflow = _workflow_of(request)
        try:
            principal = who(request)
        except Unauthenticated as err:
            return error(401, "unauthenticated", str(err), headers={"WWW-Authenticate": "Bearer"})
        detail = {"namespace": namespace, "workflow": workflow}
        incident = workflow.split(".")[0]
        try:
            authorize(principal, "decode")
        except Forbidden as err:
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
            payloads = _payloads(await request.json())
        except ValueError as err:
            return error(422, "invalid", str(err), "payloads")
        try:
            done = await (codec.decode(payloads) if decoding else codec.encode(payloads))
        except (ValueError, DecodeError) as err:  # not ciphertext of ours: the caller's mistake
            return error(422, "undecodable", f"payloads: cannot be {action}d: {err}", "payloads")
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


def serve_codec(
    host: str = "127.0.0.1",
    port: int = 8381,
    anonymous: Principal | None = None,
    origins: Sequence[str] = (),
) -> int:
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
        anonymous,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0
