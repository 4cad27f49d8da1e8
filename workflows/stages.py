"""The incident's stages driven by one table: each waiting stage's deadline, its label, its
limit in the time-limit table, and what happens when it passes unanswered.

`missed` names the incident's method that settles a missed deadline by a rule of the plan (the
first receiver handles it, the push counts as accepted …); an empty one means supervision
(督办) until a person acts.
"""

from __future__ import annotations

from linkage.domain.time_limits import by_urgency
from workflows.plain import StageDeadline

STAGE_DEADLINES: dict[str, StageDeadline] = {
    "triage_review": StageDeadline(
        "分诊复核时限", lambda r, urgency: r.triage_review_hours, "triage_review_missed"
    ),
    "sending_review": StageDeadline("推送审核时限", lambda r, urgency: r.sending_review_hours),
    "resubmit": StageDeadline("补正时限", lambda r, urgency: r.resubmit_hours, "resubmit_missed"),
    "receiving_review": StageDeadline(
        "接收审核时限",
        lambda r, urgency: by_urgency(r.receiving_review_hours, urgency),
        "receiving_review_missed",
    ),
    "negotiation": StageDeadline(
        "协商时限", lambda r, urgency: r.negotiation_hours, "negotiation_missed"
    ),
    "police_push": StageDeadline("分局审核时限", lambda r, urgency: r.sending_review_hours),
}
