"""The client the platforms and the parties' desks use (the API and the CLI through
AuthorizedClient): divert a report, act on an incident, read its status, list incidents.

Its parts, one capability each: `diverting`, `status`, `actions`, `escalations`, `listing`,
on a shared `base`; `errors` is what it raises. Below it: the workflows' contracts, the
records and the domain; above it: the interfaces only.
"""

import importlib

# Each name is imported when first asked for (PEP 562), so that importing one light part (the
# errors, say) does not load Temporal's client and the records' SQL for a CLI that needs neither.
_WHERE = {
    "ACTIONS": "linkage.domain.action_specs",
    "ActionRefused": "linkage.client.errors",
    "DivertResult": "linkage.client.diverting",
    "IncidentListing": "linkage.client.listing",
    "IncidentStatus": "linkage.client.status",
    "LinkageClient": "linkage.client.core",
    "LinkageError": "linkage.client.errors",
    "NoAnswer": "linkage.client.errors",
    "UnknownIncident": "linkage.client.errors",
    "parse_report": "linkage.client.diverting",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
