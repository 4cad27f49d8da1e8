"""The district's assessment table (temporal-config/assessment.toml): scores, the 红黑榜, the
约谈 thresholds and the 110 buckets; validated on load with the file and the field named."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from linkage.settings.config import ConfigError, format_validation_error, read_toml
from linkage.settings.paths import config_dir

HOTLINE_SCORED = (
    "timely_sign_rate",
    "on_time_rate",
    "completion_rate",
    "satisfaction_rate",
    "dissatisfaction_rate",
    "return_rate",
    "reopen_rate",
)
POLICE_SCORED = ("police_on_time_rate", "police_completion_rate")
# rates where less is better: scored as 1 − rate (a unit that returns no order scores in full)
LOWER_IS_BETTER = frozenset({"dissatisfaction_rate", "return_rate", "reopen_rate"})
# counts a district may take points off for, per side
HOTLINE_COUNTED = ("supervisions", "overdue_open", "reopened", "returns", "extensions")
POLICE_COUNTED = ("police_supervisions", "police_overdue_open")
# equal scores are ordered by these, fewer first, then by more work handled (orders, cases)
TIE_BREAK = {
    "hotline": ("supervisions", "overdue_open", "reopened"),
    "police": ("police_supervisions", "police_overdue_open"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoreRule(_Strict):
    min_orders: int = Field(default=1, ge=1)
    weights: dict[str, float]
    floors: dict[str, float] = Field(default_factory=dict)
    deductions: dict[str, float] = Field(default_factory=dict)  # points off per count

    @field_validator("deductions")
    @classmethod
    def _not_negative(cls, deductions: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in deductions.items() if v < 0]
        if bad:
            raise ValueError(
                f"a deduction is points off, zero or more; not so for {', '.join(bad)}"
            )
        return deductions

    @field_validator("weights")
    @classmethod
    def _positive(cls, weights: dict[str, float]) -> dict[str, float]:
        if not weights:
            raise ValueError("needs at least one weighted indicator")
        if any(w <= 0 for w in weights.values()):
            raise ValueError("every weight must be greater than zero")
        return weights

    @field_validator("floors")
    @classmethod
    def _fractions(cls, floors: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in floors.items() if not 0 <= v <= 1]
        if bad:
            raise ValueError(f"a floor is a rate between 0 and 1; not so for {', '.join(bad)}")
        return floors


class Scores(_Strict):
    hotline: ScoreRule
    police: ScoreRule


class Ranking(_Strict):
    red: int = Field(ge=0)
    black: int = Field(ge=0)
    # 合格线: a unit scoring this or more is never on the 黑榜, however few units there are
    black_below: float = Field(default=90, ge=0, le=100)


class Interview(_Strict):
    missed_deadlines: int = Field(ge=1)
    supervisions: int = Field(ge=1)
    whistle_missed: int = Field(ge=1)
    returns_over_limit: int = Field(ge=1)
    reopened: int = Field(ge=1)


class Buckets(_Strict):
    command_minutes: list[float] = Field(min_length=1)
    arrive_minutes: list[float] = Field(min_length=1)
    feedback_hours: list[float] = Field(min_length=1)

    @field_validator("command_minutes", "arrive_minutes", "feedback_hours")
    @classmethod
    def _rising(cls, edges: list[float]) -> list[float]:
        if any(b <= a for a, b in zip(edges, edges[1:], strict=False)) or edges[0] <= 0:
            raise ValueError("bucket edges must be positive and rising, e.g. [5, 15]")
        return edges


class Monthly(_Strict):
    hot_spot_min: int = Field(ge=1)
    repeat_reports: int = Field(ge=2)
    top: int = Field(ge=1, le=100)


class AssessmentTable(_Strict):
    version: str = Field(min_length=1, max_length=40)
    score: Scores
    ranking: Ranking
    interview: Interview
    buckets: Buckets
    monthly: Monthly

    def model_post_init(self, _context) -> None:
        for side, rates, counts in (
            ("hotline", HOTLINE_SCORED, HOTLINE_COUNTED),
            ("police", POLICE_SCORED, POLICE_COUNTED),
        ):
            rule: ScoreRule = getattr(self.score, side)
            for part, known in (("weights", rates), ("floors", rates), ("deductions", counts)):
                unknown = sorted(set(getattr(rule, part)) - set(known))
                if unknown:
                    raise ValueError(
                        f"score.{side}.{part}: unknown indicator(s) {', '.join(unknown)}; "
                        f"known: {', '.join(known)}"
                    )


def load_assessment(path: Path | None = None) -> AssessmentTable:
    path = path or config_dir() / "assessment.toml"
    data = read_toml(path)
    try:
        return AssessmentTable.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(path.name, err)) from err
    except ValueError as err:
        raise ConfigError(f"{path.name}: {err}") from err


def volume(row: dict) -> int:
    return row.get("orders", row.get("cases", 0)) or 0


def score(row: dict, rule: ScoreRule) -> float | None:
    """Σ weight × rate over Σ weight, on a scale of 100, of the indicators the unit has data
    for (a rate where less is better counts as 1 − rate; one below its floor scores nothing),
    less the deductions (points per supervision, per order still overdue …), never below 0.
    None when the unit has too few orders to rank."""
    if volume(row) < rule.min_orders:
        return None
    total = got = 0.0
    for name, weight in rule.weights.items():
        value = row.get(name)
        if value is None:  # nothing to rate (no order revisited …): left out, not zero
            continue
        if name in LOWER_IS_BETTER:
            value = 1 - value
        total += weight
        if value >= rule.floors.get(name, 0):
            got += weight * value
    if not total:
        return None
    off = sum(points * float(row.get(name) or 0) for name, points in rule.deductions.items())
    return max(0.0, round(100 * got / total - off, 1))


def ranked(
    rows: list[dict], rule: ScoreRule, ranking: Ranking, side: str = "hotline"
) -> list[dict]:
    """The rows with their score, rank and list (红榜 / 黑榜), best first; unranked last.

    Equal scores are ordered by TIE_BREAK (fewer supervisions, fewer overdue, …, then more
    orders or cases handled); units equal on all of these share a rank (1, 1, 3 …), so such a
    tie is never split between the lists. 红榜 is the ranks up to `red`; 黑榜 the units with
    fewer than `black` units ranked below them, among those scoring under `black_below`.
    """
    breaks = TIE_BREAK[side]

    def standing(row: dict) -> tuple:
        return (-row["score"], *(float(row.get(k) or 0) for k in breaks), -volume(row))

    scored = [r | {"score": score(r, rule)} for r in rows]
    ranked_rows = sorted(
        (r for r in scored if r["score"] is not None), key=lambda r: (standing(r), str(r["key"]))
    )
    standings = [standing(r) for r in ranked_rows]
    for row, mine in zip(ranked_rows, standings, strict=True):
        row["rank"] = 1 + sum(other < mine for other in standings)
        below = sum(other > mine for other in standings)
        if row["rank"] <= ranking.red:
            row["list"] = "红榜"
        elif below < ranking.black and row["score"] < ranking.black_below:
            row["list"] = "黑榜"
        else:
            row["list"] = ""
    rest = [r | {"rank": None, "list": ""} for r in scored if r["score"] is None]
    return ranked_rows + rest
