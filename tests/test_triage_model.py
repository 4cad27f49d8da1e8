"""The learned triage model: the shipped file, its arithmetic against scikit-learn's, its
evidence, and `learn` (from the desk's recorded decisions; refusing a worse safety floor)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlmodel import Session

from linkage.domain.catalogue import load_catalogue
from linkage.domain.routing import load_routing
from linkage.domain.triage_result import TriageRequest
from linkage.records.store import Store
from linkage.records.tables import Incident, StepEvent
from linkage.settings.config import ConfigError
from linkage.settings.paths import PROJECT_ROOT
from linkage.triage.learn import TRAINING_SETS, desk_rows, learn, read_sets
from linkage.triage.model import TriageModel, load_model, ngrams, words_of
from linkage.triage.training import Row, train
from linkage.triage.triager import Triager

MODEL = PROJECT_ROOT / "temporal-config/triage-model/model.json"


@pytest.fixture(scope="module")
def triager() -> Triager:
    catalogue = load_catalogue()
    return Triager(catalogue, load_routing(catalogue))


def test_the_shipped_model_is_loaded_versioned_and_documents_its_training(triager):
    model = triager.model
    assert model is not None and model.version == json.loads(MODEL.read_text())["version"]
    assert MODEL.stat().st_size < 4_000_000
    assert model.words and len(model.vocabulary) > 10_000  # bigrams and jieba's words
    info = model.info
    assert set(info["sets"]) == set(TRAINING_SETS)  # trained on the training sets only
    assert sum(s["rows"] for s in info["sets"].values()) == len(read_sets())
    assert "LogisticRegression" in info["recipe"] and info["cross_validated"]["floor"] >= 0.99
    # the real posts' training part, never their held-out fifth (tests/test_triage_corpus.py)
    assert info["real"]["rows"] > 5_000 and "held_out" in info["real"]
    result = triager.triage(TriageRequest(text="楼下烧烤店油烟太大，熏得窗户都不敢开"))
    assert result.model_version == model.version
    assert result.model.direction == "hotline" and result.model.agrees
    assert result.model.evidence and all(
        w in "楼下烧烤店油烟太大，熏得窗户都不敢开" for w in result.model.evidence
    )


def test_reading_a_description_is_the_arithmetic_of_scikit_learn(triager):
    """The model file is read without pickle; its numbers must give what sklearn gives."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    model = triager.model
    texts = ["仓库着火了，黑烟很大", "楼下饭店油烟太大", "我家老人出去到现在没回家"]
    grams = TfidfVectorizer(
        analyzer="char", ngram_range=model.sizes, sublinear_tf=True, vocabulary=model.vocabulary
    )
    grams.idf_ = model.idf
    words = TfidfVectorizer(
        analyzer=lambda tokens: tokens,
        sublinear_tf=True,
        vocabulary={w: i - len(model.vocabulary) for w, i in model.words.items()},
    )
    words.idf_ = model.word_idf
    for text in texts:
        tokens, _, facts = triager.read(text)
        dense = csr_matrix([[facts.get(k, 0.0) for k in model.facts]])
        x = hstack([grams.transform([text]), words.transform([words_of(tokens)]), dense]).tocsr()
        head = model.heads["direction"]
        clf = LogisticRegression()
        clf.classes_, clf.coef_, clf.intercept_ = np.array(head.classes), head.coef, head.intercept
        expected = clf.predict_proba(x)[0]
        reading = model.read(text, facts, tokens)
        best = int(np.argmax(expected))
        assert reading.direction == head.classes[best]
        assert reading.direction_p == pytest.approx(expected[best], abs=1e-3)
    assert ngrams("abc", (1, 3)) == ["a", "b", "c", "ab", "bc", "abc"]


def test_a_broken_model_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "model.json"
    path.write_text('{"version": "x", "ngrams": ["a"], "idf": [1.0, 2.0]}')
    with pytest.raises(ConfigError, match="model.json: not a triage model file"):
        load_model(path)
    assert load_model(tmp_path / "none.json") is None  # no file: the rules decide alone


def test_training_is_deterministic(triager):
    rows = read_sets(("dev.jsonl",))[:120]
    first, second = train(triager, rows), train(triager, rows)
    for name, head in first.heads.items():
        assert np.array_equal(head.coef, second.heads[name].coef)
    assert isinstance(first, TriageModel)


def desk_decision(store: Store, iid: str, text: str, direction: str, sub: str, action: str):
    now = datetime.now(UTC)
    with Session(store.engine) as session:
        session.add(
            Incident(
                id=iid,
                origin="police",
                reference=iid,
                received_at=now,
                township="黄埭镇",
                address="x",
                urgency="routine",
                description=text,
                divert_reason="d",
                originating_unit="u",
                caller_phone="1",
                stage="handling",
                direction=direction,
                subcategory=sub,
                category_code=sub[:3],
            )
        )
        session.add(
            StepEvent(
                id=f"{iid}#1",
                incident_id=iid,
                at=now,
                loop="triage",
                step="triage",
                action=action,
                actor="linkage_desk:陈专席",
                note="改判: 回拨核实",
            )
        )
        session.commit()


def test_the_desk_decisions_recorded_are_what_learn_reads(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'records.db'}")
    desk_decision(
        store, "police-1", "楼道里一股焦味，邻居家门缝冒烟", "police", "P04.05", "override"
    )
    desk_decision(store, "police-2", "小区门口垃圾没人清运", "hotline", "H02.02", "confirm")
    now = datetime.now(UTC)
    with Session(
        store.engine
    ) as session:  # triaged, never decided by the desk: not a desk decision
        session.add(
            Incident(
                id="police-3",
                origin="police",
                reference="3",
                received_at=now,
                township="",
                address="x",
                urgency="routine",
                description="路灯坏了",
                divert_reason="d",
                originating_unit="u",
                caller_phone="1",
                stage="handling",
                direction="hotline",
                subcategory="H01.04",
            )
        )
        session.commit()
    rows = desk_rows(store, load_catalogue())
    assert [(r.source, r.direction, r.category, r.safety) for r in rows] == [
        ("desk:police-1", "police", "P04", True),
        ("desk:police-2", "hotline", "H02", False),
    ]


def test_learn_refuses_a_model_that_lowers_the_safety_floor(triager, tmp_path):
    """Desk 'decisions' that every danger of the set was a 12345 matter teach the model to
    miss what the rules miss: its cross-validated floor falls, and nothing is written."""
    base = read_sets(("safety.jsonl",))
    poisoned = [
        Row(r.text, r.township, "hotline", "H08", False, f"desk:poison-{i}-{copy}")
        for i, r in enumerate(base)
        if r.safety
        for copy in range(3)
    ]
    out = tmp_path / "model.json"
    learned = learn(triager, poisoned, out, k=3, base=base)
    assert not learned.written and "refused" in learned.why and not out.exists()
    assert learned.candidate.floor < learned.current.floor


def test_learn_writes_a_new_version_when_the_floor_holds(triager, tmp_path):
    base = read_sets(("safety.jsonl",))
    desk = [
        Row(
            "楼道里一股焦味，邻居家门缝冒烟，敲门没人应", "", "police", "P04", True, "desk:police-9"
        )
    ]
    out = tmp_path / "model.json"
    learned = learn(triager, desk, out, k=3, base=base)
    assert learned.written, learned.why
    assert learned.candidate.floor >= learned.current.floor
    model = load_model(out)
    assert model.version == learned.version != triager.model.version
    assert model.info["desk"] == ["police-9"] and model.info["previous"] == triager.model.version
