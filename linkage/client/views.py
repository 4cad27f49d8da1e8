"""An incident as a principal may see it: personal data on a need-to-know basis.

The platforms' desks (SEES_PERSONAL_DATA) see all of it. A handling unit (the police unit
commanded, the member unit dispatched) sees the caller only while it holds the order, and not
when the report is marked confidential (保密). Everyone else (other units, the summoned and
notified, the operator) reads every free-text field (notes, timeline, briefs, reasons, replies)
with phones, ID numbers and the caller's name masked.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel

from linkage.client.status import IncidentStatus
from linkage.records.tables import Incident
from linkage.settings.masking import mask_known_names, mask_text
from linkage.trust.principals import SEES_PERSONAL_DATA, Principal, PrincipalRole


def holds_the_order(principal: Principal, status: IncidentStatus) -> bool:
    """The principal's unit handles the incident's open loop of its side, now."""
    if not status.running:
        return False
    loop = {
        PrincipalRole.police_unit: status.police,
        PrincipalRole.member_unit: status.hotline,
    }.get(principal.role)
    return loop is not None and principal.acts_for(loop.unit)


def may_see_caller(principal: Principal, status: IncidentStatus, confidential: bool) -> bool:
    if principal.role in SEES_PERSONAL_DATA:
        return True
    return not confidential and holds_the_order(principal, status)


def incident_view(
    principal: Principal,
    status: IncidentStatus,
    caller_names: tuple[str, ...] = (),
    confidential: bool = False,
) -> IncidentStatus:
    """The status as the principal may see it. `caller_names`: the caller's name as the records
    hold it (the masks know phones and ID numbers by their shape, a name only when told)."""
    if may_see_caller(principal, status, confidential):
        return status
    return _masked(status, tuple(n for n in caller_names if n))


def status_as_seen(principal: Principal, status: IncidentStatus, store) -> IncidentStatus:
    """The view, with the caller's name and the report's 保密 read from the records."""
    row = store.get(Incident, status.incident_id) if store is not None else None
    names = (row.caller_name,) if row is not None else ()
    # no record (it was never written, or is gone): treated as confidential, to be safe
    return incident_view(principal, status, names, row.confidential if row else True)


def mask_free_text(text: str, caller_names: tuple[str, ...] = ()) -> str:
    return mask_text(mask_known_names(text, caller_names))


def _masked(value: Any, names: tuple[str, ...]) -> Any:
    """Every text in the value masked; models copied (not validated again: a masked phone is no
    longer a phone number the model would take)."""
    if isinstance(value, BaseModel):
        update = {}
        for field in type(value).model_fields:
            old = getattr(value, field)
            new = _masked(old, names)
            if new is not old:
                update[field] = new
        return value.model_copy(update=update) if update else value
    if isinstance(value, list):
        items = [_masked(v, names) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(value, dict):
        masked = {k: _masked(v, names) for k, v in value.items()}
        return masked if any(masked[k] is not value[k] for k in value) else value
    if isinstance(value, str) and not isinstance(value, Enum):
        masked = mask_free_text(value, names)
        return masked if masked != value else value
    return value
