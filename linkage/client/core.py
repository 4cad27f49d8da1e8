"""LinkageClient, the client the platforms use: divert an incident, act on it, read its status,
search the list. Each capability is a part of its own (diverting, status, actions,
escalations, listing); this puts them together.

Actions are routed to the workflow that owns the step: review and negotiation to the incident,
police steps to its PoliceLoop, 12345 steps to its HotlineLoop. A refused action raises
ActionRefused with the workflow's own reason; nothing has changed.
"""

from __future__ import annotations

from linkage.client.actions import Actions
from linkage.client.diverting import Diverting
from linkage.client.listing import Listing


class LinkageClient(Diverting, Actions, Listing):
    """Connect with `await LinkageClient.connect()`; every method answers with the state its
    action produced, or raises a LinkageError saying why nothing changed."""
