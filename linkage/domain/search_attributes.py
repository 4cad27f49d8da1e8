"""The custom search attributes every linkage workflow keeps: what supervisors filter on in the
Web UI and `linkage list`, and what the list and the work queues search by."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

# Custom search attributes: supervisors filter on these in the Web UI and `linkage list`.
# SQL visibility allows 10 Keyword, 3 Bool, 3 Int, 3 KeywordList … per namespace: used are
# 8 Keyword, 3 Bool, 1 Int and 1 KeywordList. None holds personal data.
INCIDENT = SearchAttributeKey.for_keyword("LinkageIncident")
# what a workflow is: incident | police_loop | hotline_loop | whistle | emergency | report
KIND = SearchAttributeKey.for_keyword("LinkageKind")
STAGE = SearchAttributeKey.for_keyword("LinkageStage")
OWNER = SearchAttributeKey.for_keyword("LinkageOwner")
ORIGIN = SearchAttributeKey.for_keyword("LinkageOrigin")
CATEGORY = SearchAttributeKey.for_keyword("LinkageCategory")
TOWNSHIP = SearchAttributeKey.for_keyword("LinkageTownship")
OVERDUE = SearchAttributeKey.for_bool("LinkageOverdue")
WHISTLE = SearchAttributeKey.for_bool("LinkageWhistle")
REPORTS = SearchAttributeKey.for_int("LinkageReports")  # reports joined into the incident
SUBCATEGORY = SearchAttributeKey.for_keyword("LinkageSubcategory")  # catalogue code, e.g. H02.07
SAFETY = SearchAttributeKey.for_bool("LinkageSafety")  # triage found a possible danger
# the units (register codes) with a part: the pushing unit, the unit dispatched or commanded,
# the units a whistle summons or an emergency linkage notifies; `LinkageUnits = "dept.cgj"`
UNITS = SearchAttributeKey.for_keyword_list("LinkageUnits")

SEARCH_ATTRIBUTES = [
    INCIDENT,
    KIND,
    STAGE,
    OWNER,
    ORIGIN,
    CATEGORY,
    SUBCATEGORY,
    TOWNSHIP,
    OVERDUE,
    WHISTLE,
    SAFETY,
    REPORTS,
    UNITS,
]
