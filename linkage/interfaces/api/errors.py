"""Every error of the HTTP API in one JSON shape: {"error": {"code", "message", "field"}}.

401 for a missing or bad token, 403 for what the policy refuses, 404 for an unknown incident
or message, 409 for what the workflow refused (wrong step), 422 for bad input with the field
named, 503 when Temporal or the records cannot be reached, or no worker answered in time (with
Retry-After: the action may still be applied; send it again with the same request_id).
"""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from temporalio.service import RPCError

from linkage.client import ActionRefused, LinkageError, NoAnswer, UnknownIncident
from linkage.settings.config import ConfigError
from linkage.trust.tokens import Forbidden, Unauthenticated


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


def error(status: int, code: str, message: str, field: str | None = None, headers=None):
    body = ErrorResponse(error=ErrorBody(code=code, message=message, field=field))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


# `reply: message: String should …`, `report: caller.phone: …`, `dispatch: --unit: …`
_FIELD = re.compile(r"^[\w-]+: (--)?(?P<field>[\w.\[\]-]+): ")


def field_of(message: str) -> str | None:
    found = _FIELD.match(message.splitlines()[0]) if message else None
    return found.group("field") if found else None


def _json_position(body: object, position: int) -> str:
    """`line 2, column 7 (character 15)` of the body the caller sent."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    before = text[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    return f"line {line}, column {column} (character {position})"


def _validation(_: Request, err: RequestValidationError):
    problems = err.errors()
    broken = next((p for p in problems if p.get("type") == "json_invalid"), None)
    if broken is not None:  # loc is ("body", <character>): say where, not "field 15"
        at = broken["loc"][-1] if isinstance(broken["loc"][-1], int) else 0
        why = (broken.get("ctx") or {}).get("error", "JSON decode error")
        where = _json_position(err.body, at)
        return error(422, "invalid_json", f"body: not valid JSON at {where}: {why}", "body")
    first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first["loc"] if p not in ("body", "query", "path")]
    field = ".".join(loc) or None
    lines = [
        f"{'.'.join(str(p) for p in x['loc'] if p not in ('body', 'query', 'path'))}: {x['msg']}"
        for x in problems
    ]
    return error(422, "invalid", "\n".join(lines), field)


def install(app: FastAPI) -> None:
    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(_: Request, err: Unauthenticated):
        return error(401, "unauthenticated", str(err), headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, err: Forbidden):
        return error(403, "forbidden", str(err))

    @app.exception_handler(UnknownIncident)
    async def _unknown(_: Request, err: UnknownIncident):
        return error(404, "not_found", str(err))

    @app.exception_handler(ActionRefused)
    async def _refused(_: Request, err: ActionRefused):
        return error(409, "refused", str(err))

    @app.exception_handler(NoAnswer)
    async def _no_answer(_: Request, err: NoAnswer):
        return error(503, "no_answer", str(err), headers={"Retry-After": "10"})

    @app.exception_handler(LinkageError)
    async def _invalid(_: Request, err: LinkageError):
        message = str(err)
        if message.startswith("no outbox message"):
            return error(404, "not_found", message)
        return error(422, "invalid", message, field_of(message))

    @app.exception_handler(ConfigError)
    async def _config(_: Request, err: ConfigError):
        return error(500, "configuration", str(err))

    @app.exception_handler(RPCError)
    async def _temporal(_: Request, err: RPCError):
        return error(503, "temporal_unavailable", f"Temporal refused or is unreachable: {err}")

    @app.exception_handler(SQLAlchemyError)
    async def _records(_: Request, err: SQLAlchemyError):
        return error(503, "records_unavailable", f"the records database: {type(err).__name__}")

    @app.exception_handler(HTTPException)
    async def _http(_: Request, err: HTTPException):
        cause = err.__cause__  # a body FastAPI could not parse: say why, as for broken JSON
        if isinstance(cause, RecursionError):
            return error(422, "invalid_json", "body: JSON nested too deeply to read", "body")
        if isinstance(cause, ValueError):  # a number of thousands of digits, say
            return error(422, "invalid_json", f"body: not valid JSON: {cause}", "body")
        return error(err.status_code, "http", str(err.detail))

    app.add_exception_handler(RequestValidationError, _validation)
