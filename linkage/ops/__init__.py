"""Running the system: `linkage up` on one machine, the periodic reviews' schedules, the Web UI's
views.
"""
