"""What the client raises: errors a person can act on, each saying what and why."""

from __future__ import annotations

import os
from datetime import timedelta


class LinkageError(Exception):
    """An error a person can act on; the message says what and why."""


class ActionRefused(LinkageError):
    """The workflow refused the action (wrong step, wrong party); nothing changed."""


class UnknownIncident(LinkageError):
    """No incident has that ID."""


class NoAnswer(LinkageError):
    """No worker answered in time (none polls, or it is overloaded): the action was not
    refused, and may still be applied; send it again with the same request ID."""


def answer_within() -> timedelta:
    """How long a caller waits for a workflow's answer (LINKAGE_ANSWER_SECONDS, default 15)."""
    try:
        return timedelta(seconds=max(1.0, float(os.environ.get("LINKAGE_ANSWER_SECONDS", 15))))
    except ValueError:
        return timedelta(seconds=15)
