"""Fitting the triage model to labelled rows: deterministic (same rows, same model), so that
cross-validation (linkage.triage.evaluate) and a retrain (linkage.triage.learn) agree."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from linkage.triage.model import HEADS, NGRAMS, TriageModel

SEED = 0
C = 10.0  # inverse regularisation of every head
MAX_NGRAMS = 30_000


@dataclass
class Row:
    text: str
    township: str
    direction: str
    category: str
    safety: bool
    source: str  # the set's name, or desk:<incident id>


def _features(triager, rows: list[Row]):
    """The texts as the model reads them (Triager.prepare: numbers set aside) and their facts."""
    texts, facts = [], []
    for row in rows:
        text = triager.prepare(row.text)
        texts.append(text)
        facts.append(triager.read(text)[2])
    return texts, facts


def train(triager, rows: list[Row], version: str = "", info: dict | None = None) -> TriageModel:
    """A model trained on these rows (deterministic: same rows, same model)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, facts = _features(triager, rows)
    vectorizer = TfidfVectorizer(
        analyzer="char", ngram_range=NGRAMS, sublinear_tf=True, min_df=2, max_features=MAX_NGRAMS
    )
    grams = vectorizer.fit_transform(texts)
    fact_names = sorted({k for f in facts for k in f})
    dense = np.array([[f.get(k, 0.0) for k in fact_names] for f in facts])
    X = hstack([grams, csr_matrix(dense)]).tocsr()
    labels = {
        "direction": [r.direction for r in rows],
        "category": [r.category for r in rows],
        "danger": ["true" if r.safety else "false" for r in rows],
    }
    heads = {}
    for name in HEADS:
        y = labels[name]
        if len(set(y)) < 2:  # a head with one class learns nothing: keep a neutral one
            y = [*y[:-1], "false" if name == "danger" else y[-1]]
        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=3000, random_state=SEED)
        clf.fit(X, y)
        heads[name] = {
            "classes": [str(c) for c in clf.classes_],
            "coef": np.round(clf.coef_, 5).tolist(),
            "intercept": np.round(clf.intercept_, 5).tolist(),
        }
    vocab = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    data = {
        "version": version or "untrained",
        "info": info or {},
        "ngram_range": list(NGRAMS),
        "ngrams": vocab,
        "idf": np.round(vectorizer.idf_, 6).tolist(),
        "facts": fact_names,
        "heads": heads,
    }
    return TriageModel(data, source="trained")
