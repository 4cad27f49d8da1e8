"""The two-way assessment (双考核) of one incident, as a pure function of its results.

The bureau assesses the police units on the police loop, the command centre assesses the member
units on the 12345 loop; whistles count against the units that did not report in on time, and
emergency linkages against the units that acknowledged late or never.
"""

from __future__ import annotations

from workflows.contracts import Assessment
from workflows.loop_contracts import (
    EmergencyResult,
    HotlineLoopResult,
    PoliceLoopResult,
    WhistleResult,
)


def assess(
    police: PoliceLoopResult | None,
    hotline: HotlineLoopResult | None,
    whistles: list[WhistleResult],
    emergencies: list[EmergencyResult],
) -> list[Assessment]:
    found: list[Assessment] = []
    if police is not None:
        found.append(
            Assessment(
                assessor="police_bureau",
                loop="police",
                unit=police.unit,
                completed=police.completed,
                on_time=police.on_time,
            )
        )
    if hotline is not None:
        found.append(
            Assessment(
                assessor="command_center",
                loop="hotline",
                unit=hotline.unit,
                completed=hotline.completed,
                on_time=hotline.on_time,
                satisfaction=hotline.satisfaction.value,
            )
        )
    for whistle in whistles:
        for unit in whistle.units:
            found.append(
                Assessment(
                    assessor="whistle",
                    loop=f"whistle-{whistle.number}",
                    unit=unit,
                    completed=unit not in whistle.missed,
                    on_time=unit in whistle.on_time,
                )
            )
    for linkage in emergencies:
        for code, name in linkage.units.items():
            found.append(
                Assessment(
                    assessor="emergency",
                    loop=f"emergency-{linkage.number}",
                    unit=name,
                    completed=code in linkage.acknowledged,
                    on_time=code in linkage.acknowledged and code not in linkage.late,
                )
            )
    return found
