"""Training the triage model, and `linkage triage learn`: retrain from the labelled sets and
the linkage desk's recorded decisions, compare by cross-validation, keep the safety floor.

Training is scikit-learn: TfidfVectorizer over character 1-3-grams (sublinear tf, n-grams in at
least two descriptions) beside the catalogue's evidence (linkage.triage.decide.facts), and one
LogisticRegression (lbfgs, balanced class weights) per head: direction, category, danger. The
solver is deterministic and the folds are drawn with a fixed seed, so the same rows give the
same model. Only training sets are read (TRAINING_SETS); evaluation sets never are.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from linkage.settings.paths import PROJECT_ROOT
from linkage.triage.evaluate import FOLDS, Figures, cross_validate
from linkage.triage.model import HEADS, NGRAMS, TriageModel, save_model
from linkage.triage.training import MAX_NGRAMS, SEED, C, Row, train

TRAINING_SETS = ("dev.jsonl", "safety.jsonl")  # the labelled training sets; never the holdouts
DATA_DIR = PROJECT_ROOT / "tests/data/triage"


def read_sets(names=TRAINING_SETS, folder: Path = DATA_DIR) -> list[Row]:
    rows = []
    for name in names:
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                rows.append(
                    Row(r["text"], r["township"], r["direction"], r["category"], r["safety"], name)
                )
    return rows


def desk_rows(store, catalogue) -> list[Row]:
    """Every incident whose triage the linkage desk decided or overrode (a `triage` step with
    action confirm or override, who and why in the step), as the desk left it: its direction
    and item. A danger is a police or joint decision on a safety-floor item."""
    from sqlmodel import Session, select

    from linkage.records.tables import Incident, StepEvent

    floor = {g.subcategory for g in catalogue.safety.values()}
    floor |= {
        code
        for cat in catalogue.categories.values()
        for code, sub in cat.subcategories.items()
        if sub.safety
    }
    with Session(store.engine) as session:
        decided = select(StepEvent.incident_id).where(
            StepEvent.loop == "triage", StepEvent.action.in_(["confirm", "override"])
        )
        incidents = session.exec(
            select(Incident).where(Incident.id.in_(decided)).order_by(Incident.id)
        ).all()
    rows = []
    for incident in incidents:
        if not incident.direction or not incident.description:
            continue
        danger = incident.direction != "hotline" and incident.subcategory in floor
        rows.append(
            Row(
                incident.description,
                incident.township,
                incident.direction,
                incident.category_code or "-",
                danger,
                f"desk:{incident.id}",
            )
        )
    return rows


def model_data(model: TriageModel) -> dict:
    return {
        "version": model.version,
        "info": model.info,
        "ngram_range": list(model.sizes),
        "ngrams": list(model.vocabulary),
        "idf": model.idf.tolist(),
        "facts": model.facts,
        "heads": {
            n: {"classes": h.classes, "coef": h.coef.tolist(), "intercept": h.intercept.tolist()}
            for n, h in model.heads.items()
        },
    }


def recipe() -> str:
    return (
        f"numbers set aside; TfidfVectorizer(char {NGRAMS[0]}-{NGRAMS[1]}-grams, sublinear tf, "
        f"min_df 2, <= {MAX_NGRAMS}) + catalogue facts; LogisticRegression(lbfgs, C {C}, balanced) "
        f"per head {', '.join(HEADS)}; seed {SEED}"
    )


def fingerprint(rows: list[Row], salt: str = "") -> str:
    digest = hashlib.sha256(salt.encode())
    for row in rows:
        digest.update(json.dumps(row.__dict__, ensure_ascii=False, sort_keys=True).encode())
    return digest.hexdigest()[:12]


@dataclass
class Learned:
    current: Figures | None  # the current model's recipe, cross-validated on the same rows
    candidate: Figures
    version: str
    written: bool
    why: str
    rows: int
    desk: int


def learn(
    triager, desk: list[Row], out: Path | None, k: int = FOLDS, base: list[Row] | None = None
) -> Learned:
    """Retrain from the training sets (or `base`) and the desk's decisions; write the model to
    `out` only when its cross-validated safety floor is no worse than the current model's
    (out=None: only report)."""
    rows = (read_sets() if base is None else base) + desk
    current = triager.model
    if current is not None:
        known = set(current.info.get("sets", {})) | set(current.info.get("desk", []))
        before = cross_validate(
            triager, rows, lambda r: r.source.removeprefix("desk:") in known or r.source in known, k
        )
    else:
        before = None
    after = cross_validate(triager, rows, lambda r: True, k)
    # the rows, the catalogue whose evidence the model reads and the recipe name the version
    salt = triager.catalogue.model_dump_json() + recipe()  # the evidence it reads, and how
    version = f"{datetime.now(UTC):%Y-%m-%d}-{fingerprint(rows, salt)}"
    worse = before is not None and (
        after.floor < before.floor or after.unreviewed > before.unreviewed
    )
    if worse:
        why = (
            f"refused: the safety floor would get worse ({before.floor:.1%} → "
            f"{after.floor:.1%}, dangers to 12345 unreviewed {before.unreviewed} → "
            f"{after.unreviewed})"
        )
        return Learned(before, after, version, False, why, len(rows), len(desk))
    if out is None:
        return Learned(before, after, version, False, "not written (dry run)", len(rows), len(desk))
    sets = {}
    for name in TRAINING_SETS:
        text = (DATA_DIR / name).read_bytes()
        sets[name] = {
            "rows": sum(1 for r in rows if r.source == name),
            "sha256": hashlib.sha256(text).hexdigest()[:16],
        }
    info = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "previous": current.version if current is not None else "",
        "sets": sets,
        "desk": [r.source.removeprefix("desk:") for r in desk],
        "recipe": recipe(),
        "cross_validated": {"folds": k, **after.summary()},
    }
    model = train(triager, rows, version=version, info=info)
    save_model(model_data(model), out)
    return Learned(before, after, version, True, f"written to {out.name}", len(rows), len(desk))
