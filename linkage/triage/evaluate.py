"""Cross-validated figures for triage (rules and model together): the issue's figures over
labelled rows, with each fold read by a model that did not see it.

The folds are stratified by direction and danger and drawn with a fixed seed, so that two
recipes (the current model's and a candidate's) are compared on the very same held-out rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from linkage.triage.training import SEED, Row, train

FOLDS = 5


@dataclass
class Figures:
    """The issue's figures over a set of rows, as triage (rules and model) decides them."""

    n: int = 0
    floor: float = 1.0  # dangers kept with 110 or at the desk
    unreviewed: int = 0  # dangers to 12345 with no review
    as_police: float = 0.0  # 12345 matters read as police or both
    notified: float = 0.0  # 12345 matters for which a unit would be notified
    desk: float = 0.0
    direction: float = 0.0
    kept: list = field(default_factory=list, repr=False)

    def summary(self) -> dict:
        return {
            k: round(v, 4) if isinstance(v, float) else v
            for k, v in self.__dict__.items()
            if k != "kept"
        }

    def line(self) -> str:
        return (
            f"floor {self.floor:.1%} (to 12345 unreviewed {self.unreviewed}), "
            f"12345 read as police {self.as_police:.1%}, notified {self.notified:.1%}, "
            f"desk {self.desk:.1%}, direction {self.direction:.1%} ({self.n} descriptions)"
        )


def figures(pairs) -> Figures:
    """(row, result) pairs → the figures."""
    pairs = list(pairs)
    dangers = [(r, x) for r, x in pairs if r.safety]
    plain = [(r, x) for r, x in pairs if r.direction == "hotline" and not r.safety]
    f = Figures(n=len(pairs), kept=pairs)
    if dangers:
        f.floor = sum(x.direction != "hotline" or x.needs_review for _, x in dangers) / len(dangers)
        f.unreviewed = sum(x.direction == "hotline" and not x.needs_review for _, x in dangers)
    if plain:
        f.as_police = sum(x.direction != "hotline" for _, x in plain) / len(plain)
        f.notified = sum(bool(x.emergency_units) for _, x in plain) / len(plain)
    if pairs:
        f.desk = sum(x.needs_review for _, x in pairs) / len(pairs)
        f.direction = sum(r.direction == x.direction for r, x in pairs) / len(pairs)
    return f


def folds(rows: list[Row], k: int = FOLDS) -> list[int]:
    """A fold per row, stratified by direction and danger, drawn with the fixed seed."""
    from sklearn.model_selection import StratifiedKFold

    strata = [f"{r.direction}:{r.safety}" for r in rows]
    counts = {s: strata.count(s) for s in strata}
    strata = [s if counts[s] >= k else "rare" for s in strata]
    fold_of = [0] * len(rows)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=SEED)
    with warnings.catch_warnings():  # a stratum smaller than k is spread as far as it goes
        warnings.simplefilter("ignore", UserWarning)
        splits = list(splitter.split(np.zeros(len(rows)), strata))
    for i, (_, test) in enumerate(splits):
        for j in test:
            fold_of[j] = i
    return fold_of


def cross_validate(triager, rows: list[Row], trained_on, k: int = FOLDS) -> Figures:
    """Each fold triaged by a model trained on the other folds' rows that `trained_on` keeps
    (so that two recipes are compared on the very same held-out rows)."""
    from linkage.domain.triage_result import TriageRequest
    from linkage.triage.triager import Triager

    fold_of = folds(rows, k)
    pairs = []
    for fold in range(k):
        train_rows = [r for r, f in zip(rows, fold_of, strict=True) if f != fold and trained_on(r)]
        model = train(triager, train_rows) if train_rows else None  # none: the rules alone
        judge = Triager(triager.catalogue, triager.routing, model=model, rules=triager.rules)
        for row, f in zip(rows, fold_of, strict=True):
            if f == fold:
                pairs.append(
                    (row, judge.triage(TriageRequest(text=row.text[:4000], township=row.township)))
                )
    return figures(pairs)
