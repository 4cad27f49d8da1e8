"""Training the triage model, and `linkage triage learn`: retrain from the labelled sets and
the linkage desk's recorded decisions, compare by cross-validation, keep the safety floor.

Training is scikit-learn (linkage.triage.training): character 2-3-grams and jieba's words, each
tf-idf weighted, beside the catalogue's evidence, and one LogisticRegression per head: direction,
category, danger. The solver is deterministic and the folds are drawn with a fixed seed, so the
same rows give the same model. The rows: the project's training sets (TRAINING_SETS; never the
evaluation sets), the training part of the real posts where they are at hand
(linkage.triage.corpus; never their held-out part), a district's own files (`--data`) and the
desk's recorded decisions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from linkage.settings.logs import mask_known_names
from linkage.settings.paths import PROJECT_ROOT
from linkage.triage.corpus import own_rows
from linkage.triage.evaluate import FOLDS, Figures, cross_validate
from linkage.triage.model import HEADS, NGRAMS, TriageModel, encode_idf, encode_weights, save_model
from linkage.triage.training import MAX_NGRAMS, MAX_WORDS, SEED, C, Row, train

# the labelled training sets; never the holdouts
TRAINING_SETS = ("dev.jsonl", "safety.jsonl", "police-more.jsonl")
DATA_DIR = PROJECT_ROOT / "tests/data/triage"


def read_sets(names=TRAINING_SETS, folder: Path = DATA_DIR) -> list[Row]:
    return own_rows(names, folder)


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
        # the caller's name is no evidence, and stays out of training and of exported files
        text = mask_known_names(incident.description, (incident.caller_name,))
        rows.append(
            Row(
                text,
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
        "idf": encode_idf(model.idf),
        "words": list(model.words),
        "word_idf": encode_idf(model.word_idf),
        "facts": model.facts,
        "heads": {
            n: {
                "classes": h.classes,
                **encode_weights(h.coef),
                "intercept": h.intercept.tolist(),
            }
            for n, h in model.heads.items()
        },
    }


def recipe() -> str:
    return (
        f"numbers set aside; TfidfVectorizer(char {NGRAMS[0]}-{NGRAMS[1]}-grams, sublinear tf, "
        f"min_df 2, <= {MAX_NGRAMS}) + TfidfVectorizer(jieba words, sublinear tf, min_df 2, "
        f"<= {MAX_WORDS}) + catalogue facts; LogisticRegression(lbfgs, C {C}, balanced) "
        f"per head {', '.join(HEADS)} (category on rows with a catalogue item); seed {SEED}"
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


def _source(row: Row) -> str:
    """What a row's source is recorded as in the model's info: its set, file or origin."""
    if row.source.startswith("desk:"):
        return row.source.removeprefix("desk:")
    if row.source.startswith("real:"):
        return "real"
    return row.source.split(":", 1)[0]


def learn(
    triager,
    desk: list[Row],
    out: Path | None,
    k: int = FOLDS,
    base: list[Row] | None = None,
    extra: list[Row] = (),
) -> Learned:
    """Retrain from the training sets (or `base`), `extra` rows (the real posts' training part,
    a district's files) and the desk's decisions; write the model to `out` only when its
    cross-validated safety floor is no worse than the current model's (out=None: only
    report)."""
    rows = (read_sets() if base is None else base) + list(extra) + desk
    current = triager.model
    if current is not None:
        info = current.info
        known = {*info.get("sets", {}), *info.get("desk", []), *info.get("data", {})}
        known |= {"real"} if info.get("real") else set()
        before = cross_validate(triager, rows, lambda r: _source(r) in known, k)
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
    for name in TRAINING_SETS if base is None else sorted({r.source for r in base}):
        path = DATA_DIR / name
        sets[name] = {
            "rows": sum(1 for r in rows if r.source == name),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else "",
        }
    data: dict[str, int] = {}
    for row in extra:
        if not row.source.startswith("real:"):
            data[_source(row)] = data.get(_source(row), 0) + 1
    real = [r for r in extra if r.source.startswith("real:")]
    info = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "previous": current.version if current is not None else "",
        "sets": sets,
        "real": {
            "rows": len(real),
            "police_or_both": sum(r.direction != "hotline" for r in real),
            "held_out": "a fifth of the posts by a hash of their ID, never read here",
        }
        if real
        else {},
        "data": data,
        "desk": [r.source.removeprefix("desk:") for r in desk],
        "recipe": recipe(),
        "cross_validated": {"folds": k, **after.summary()},
    }
    model = train(triager, rows, version=version, info=info)
    save_model(model_data(model), out)
    return Learned(before, after, version, True, f"written to {out.name}", len(rows), len(desk))
