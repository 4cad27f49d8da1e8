"""`linkage serve`: the front door for the platforms and the parties' desks (HTTP/JSON).

A platform in any language diverts a report and acts on incidents with its own bearer token and
nothing more: the actor of every action is the token's principal, the policy decides before
anything reaches Temporal, and every action and refusal is in the audit log. One LinkageClient
per app, connected at startup. The schema is at /openapi.json (committed as docs/openapi.json).
/healthz, /readyz (linkage.records.health) and /metrics (linkage.metrics) take no token and are
not in the schema.
"""

from contextlib import asynccontextmanager
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Path, Query
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from linkage.client import DivertResult, IncidentStatus, LinkageClient, LinkageError
from linkage.client.authorized import AuthorizedClient
from linkage.client.listing import IncidentListing, parse_when
from linkage.client.views import status_as_seen
from linkage.domain.action_specs import ACTIONS
from linkage.domain.actions import Hours
from linkage.domain.models import Owner, Stage
from linkage.domain.timefmt import district_zone, jsonable
from linkage.interfaces.api import errors as api_errors
from linkage.metrics.http import install_api_metrics
from linkage.records.audit import AuditLog
from linkage.records.health import Readiness, add_health_routes
from linkage.records.tokens import TokenRecords
from linkage.settings.config import Settings
from linkage.settings.tracing import configure_tracing
from linkage.trust.principals import Principal
from linkage.trust.tokens import TokenVerifier

BEARER = HTTPBearer(
    auto_error=False, description="a token of `linkage token issue` or the district's sign-in"
)
ActionName = StrEnum("ActionName", {name: name for name in ACTIONS})
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": api_errors.ErrorResponse, "description": what}
    for status, what in {
        401: "no token, or one that is expired, revoked, unsigned or altered",
        403: "the policy does not let this principal take it; nothing changed",
        404: "no such incident or message",
        409: "the workflow refused it (wrong step); nothing changed",
        422: "bad input; `field` names the field",
    }.items()
}


# A filter or key the records are searched by: one line of printable text (PostgreSQL cannot
# even compare a NUL), so that what no row can hold is a 422 naming it, not the records' 503.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Searched = Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)]


class WhistleBody(BaseModel):
    """Typed as sent: a number is a number (never "2" or true), and no field goes unread."""

    model_config = ConfigDict(extra="forbid", strict=True)

    reason: str = Field(description="why (重大风险隐患 …)")
    units: list[str] = Field(description="the units summoned, by code, name or alias")
    deadline_hours: Hours | None = Field(default=None, description="hours to report in")
    request_id: str = Field(
        default="",
        max_length=80,
        description="the same ID on every attempt: the whistle is blown once",
    )


class ActionDone(BaseModel):
    incident_id: str
    action: str
    state: dict[str, Any] = Field(description="the workflow's state after the action")


class OutboxView(BaseModel):
    key: str
    target: str
    kind: str
    incident_id: str
    payload: dict[str, Any]
    status: str
    attempts: int
    created_at: datetime
    delivered_at: datetime | None = None


class AuditView(BaseModel):
    at: datetime
    principal: str
    role: str
    unit: str
    via: str
    action: str
    incident_id: str
    allowed: bool
    reason: str
    detail: dict[str, Any]


def _outbox_view(row) -> OutboxView:
    return OutboxView(key=row.id, **row.model_dump(exclude={"id"}))


def answer(value: BaseModel | list[BaseModel] | dict, status: int = 200) -> JSONResponse:
    """Every answer in one time convention: ISO 8601 with the district's offset
    (`2026-11-29T09:30:00+08:00`), as the CLI's --json prints them."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    elif isinstance(value, list):
        value = [v.model_dump() for v in value]
    return JSONResponse(jsonable(value), status_code=status)


def make_app(
    client: LinkageClient | None = None,
    verifier: TokenVerifier | None = None,
    readiness: Readiness | None = None,
) -> FastAPI:
    """The app; a client, a verifier and the readiness checks may be given (tests), else they
    are made at startup (the checks when first asked)."""
    holder: dict[str, Any] = {"client": client, "verifier": verifier, "readiness": readiness}

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        if holder["client"] is None:
            holder["client"] = await LinkageClient.connect()
        yield

    app = FastAPI(
        title="linkage",
        version="1",
        summary="12345 热线 与 110 平台 对接联动: divert incidents and act on them",
        lifespan=lifespan,
    )
    api_errors.install(app)

    def linkage() -> LinkageClient:
        return holder["client"]

    async def temporal():
        return holder["client"].client if holder["client"] is not None else None

    def database_url() -> str:
        return holder["client"].database_url if holder["client"] else Settings().database_url

    def ready() -> Readiness:
        if holder["readiness"] is None:
            holder["readiness"] = Readiness(database_url(), temporal)
        return holder["readiness"]

    if configure_tracing("linkage-api"):  # a span per request, carried into the workflows
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="metrics,healthz,readyz")
    add_health_routes(app, ready)
    install_api_metrics(app, database_url)  # GET /metrics: no token, kept off the schema

    def verifying() -> TokenVerifier:
        if holder["verifier"] is None:
            records = TokenRecords(linkage().store.engine)
            holder["verifier"] = TokenVerifier(revoked=records.revoked_at)
        return holder["verifier"]

    def principal(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> Principal:
        return verifying().verify(credentials.credentials if credentials else None)

    def authorized(who: Annotated[Principal, Depends(principal)]) -> AuthorizedClient:
        return AuthorizedClient(linkage(), who, AuditLog(linkage().store.engine), via="api")

    As = Annotated[AuthorizedClient, Depends(authorized)]
    IncidentId = Annotated[str, Path(description="e.g. police-JJ20261129001")]

    @app.post(
        "/reports",
        status_code=201,
        response_model=DivertResult,
        responses={
            200: {"model": DivertResult, "description": "nothing new: `new` is false (a push "
                  "sent again, a repeat that joined an open incident, or one already closed)"},
            202: {"model": DivertResult, "description": "`queued`: no worker answered in "
                  "time; its incident is started and opens once a worker runs it"},
            **ERRORS,
        },
    )  # fmt: skip
    async def divert(party: As, report: Annotated[dict[str, Any], Body()]) -> JSONResponse:
        """Divert a report (分流推送): 201 when it opens its incident; 200 when it joins the one
        it repeats, was sent before, or its incident has already ended."""
        result = await party.divert(report)
        return answer(result, 201 if result.new else 202 if result.queued else 200)

    @app.post(
        "/incidents/{incident_id}/actions/{action}", response_model=ActionDone, responses=ERRORS
    )
    async def act(
        party: As,
        incident_id: IncidentId,
        action: ActionName,
        payload: Annotated[dict[str, Any], Body(default_factory=dict)],
        whistle: Annotated[int | None, Query(description="the whistle to act on")] = None,
    ) -> JSONResponse:
        """Take an action; its fields are those of `linkage act ID ACTION --help`, without the
        actor (the token's principal is the actor)."""
        state = await party.act(incident_id, action.value, payload, whistle=whistle)
        return answer(
            {"incident_id": incident_id, "action": action.value, "state": state.model_dump()}
        )

    @app.post("/incidents/{incident_id}/whistle", response_model=ActionDone, responses=ERRORS)
    async def whistle(party: As, incident_id: IncidentId, body: WhistleBody) -> JSONResponse:
        """Blow the whistle (吹哨) on an open incident: 200 with the state it led to (its
        whistles), or 409 with the reason it was refused."""
        state = await party.whistle(incident_id, body.model_dump())
        return answer(
            {"incident_id": incident_id, "action": "whistle", "state": state.model_dump()}
        )

    @app.get("/incidents/{incident_id}", response_model=IncidentStatus, responses=ERRORS)
    async def status(party: As, incident_id: IncidentId) -> JSONResponse:
        """Stage, loops, deadlines and timeline."""
        return answer(
            status_as_seen(party.party, await party.status(incident_id), party.client.store)
        )

    @app.get("/incidents", response_model=list[IncidentListing], responses=ERRORS)
    async def listing(
        party: As,
        stage: Stage | None = None,
        owner: Owner | None = None,
        township: str | None = None,
        overdue: bool = False,
        whistled: bool = False,
        running: bool = False,
        unit: Annotated[str | None, Query(description="a unit's queue (a unit's default)")] = None,
        category: str | None = None,
        safety: bool = False,
        since: Annotated[str | None, Query(description="a date or an ISO time")] = None,
        until: Annotated[str | None, Query(description="a date or an ISO time")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> JSONResponse:
        """Incidents by stage, owner, place, category; or what waits on a unit now."""
        zone = district_zone()
        try:
            start = parse_when(since, zone, "since") if since else None
            end = parse_when(until, zone, "until") if until else None
        except ValueError as err:
            raise LinkageError(f"list: {err}") from None
        rows = await party.list(
            stage=stage.value if stage else None,
            owner=owner.value if owner else None,
            township=township,
            overdue=overdue,
            whistled=whistled,
            running_only=running,
            unit=unit,
            category=category,
            safety=True if safety else None,
            since=start,
            until=end,
            limit=limit,
        )
        return answer(rows)

    @app.get("/outbox", response_model=list[OutboxView], responses=ERRORS)
    def outbox(
        party: As,
        target: Annotated[str | None, Query(pattern="^(police|hotline|sms|emergency)$")] = None,
        status: Annotated[str | None, Query(pattern="^(pending|delivered|failed)$")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> JSONResponse:
        """Messages to the platforms and the SMS gateway (双推送); a platform reads its own."""
        return answer([_outbox_view(r) for r in party.outbox(target, status, limit)])

    @app.post("/outbox/{key}/ack", response_model=OutboxView, responses=ERRORS)
    def acknowledge(
        party: As, key: Annotated[str, Path(max_length=200, pattern=PRINTABLE)]
    ) -> JSONResponse:
        """The reading platform took the message: it is delivered."""
        return answer(_outbox_view(party.acknowledge(key)))

    @app.get("/audit", response_model=list[AuditView], responses=ERRORS)
    def audit(
        party: As,
        incident: Searched = None,
        principal: Searched = None,
        action: Searched = None,
        refused: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> JSONResponse:
        """Who did or was refused what, newest first (supervisors and operators)."""
        rows = party.audit_entries(
            incident_id=incident, principal=principal, action=action, refused=refused, limit=limit
        )
        return answer([AuditView(**r.model_dump()) for r in rows])

    return app


def serve(host: str = "127.0.0.1", port: int = 8380) -> int:
    """Run the API (uvicorn) until interrupted."""
    import uvicorn

    uvicorn.run(make_app(), host=host, port=port, log_level="warning")
    return 0
