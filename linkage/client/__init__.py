"""The client the platforms and the parties' desks use (the API and the CLI through
AuthorizedClient): divert a report, act on an incident, read its status, list incidents.

Its parts, one capability each: `diverting`, `status`, `actions`, `escalations`, `listing`,
on a shared `base`; `errors` is what it raises. Below it: the workflows' contracts, the
records and the domain; above it: the interfaces only.
"""

from linkage.client.core import LinkageClient
from linkage.client.diverting import DivertResult, parse_report
from linkage.client.errors import ActionRefused, LinkageError, NoAnswer, UnknownIncident
from linkage.client.listing import IncidentListing
from linkage.client.status import IncidentStatus
from linkage.domain.action_specs import ACTIONS

__all__ = [
    "ACTIONS",
    "ActionRefused",
    "DivertResult",
    "IncidentListing",
    "IncidentStatus",
    "LinkageClient",
    "LinkageError",
    "NoAnswer",
    "UnknownIncident",
    "parse_report",
]
