"""structlog JSON logs that carry the incident ID and never show a caller's personal data."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import Any

import structlog

from linkage.settings.masking import (  # noqa: F401  (the names callers import from here)
    CALLERS_KEY,
    KNOWN_NAMES_KEPT,
    _mask_value,
    mask_known_names,
    mask_name,
    mask_text,
    tell_names,
)


def mask_personal_data(_logger: Any, _method: str, event_dict: dict) -> dict:
    """structlog processor: mask names, phone and ID numbers in every field and the message;
    the names told (tell_names) and the call's own `callers` wherever they appear."""
    callers = event_dict.pop(CALLERS_KEY, ())
    names = (callers,) if isinstance(callers, str) else tuple(callers or ())
    return {key: _mask_value(key, value, names) for key, value in event_dict.items()}


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the moment; a failed write never reaches the caller,
    so logging cannot fail an activity."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        """Ignored: the stream is always the current sys.stderr."""


class MaskingFilter(logging.Filter):
    """Masks personal data in log lines that do not come through structlog (the SDK's own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and _expected(record.exc_info[1]):
            # an outcome the system waits out or reports (an endpoint down, a refusal): one
            # line that says what, not a traceback that looks like a crash
            error = record.exc_info[1]
            message = f"{message}: {type(error).__name__}: {error}"
            record.exc_info, record.exc_text = None, None
        masked = mask_text(mask_known_names(message))
        if masked != record.getMessage():
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            lines = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = mask_text(mask_known_names(lines))
        return True


def _expected(error: BaseException | None) -> bool:
    """Failures the code raises on purpose or waits out: the activity's own ApplicationError,
    an HTTP endpoint or a database that does not answer."""
    from httpx import HTTPError
    from sqlalchemy.exc import OperationalError
    from temporalio.exceptions import ApplicationError

    return isinstance(error, ApplicationError | HTTPError | OperationalError)


def configure(level: str = "INFO") -> None:
    level = os.environ.get("LINKAGE_LOG_LEVEL", level).upper()
    logger = logging.getLogger("linkage")
    logger.handlers[:] = [_CurrentStderr()]
    logger.setLevel(level)
    logger.propagate = False
    # The SDK logs failed activities and workflow tasks itself: masked here as well.
    sdk = logging.getLogger("temporalio")
    if not any(isinstance(h, _CurrentStderr) for h in sdk.handlers):
        handler = _CurrentStderr()
        handler.addFilter(MaskingFilter())
        sdk.addHandler(handler)
    sdk.propagate = False
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_personal_data,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


def get_logger(**context: Any) -> structlog.stdlib.BoundLogger:
    """A logger with the masking processor, whichever entry point runs first."""
    if not structlog.is_configured():
        configure()
    return structlog.get_logger("linkage").bind(**context)
