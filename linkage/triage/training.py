"""Fitting the triage model to labelled rows: deterministic (same rows, same model), so that
cross-validation (linkage.triage.evaluate) and a retrain (linkage.triage.learn) agree.

Features: character n-grams, the words jieba finds (the rules' own tokens, so reading costs no
second segmentation), each block tf-idf weighted and l2-normalised on its own, and the
catalogue's evidence (linkage.triage.decide.facts). Rows whose catalogue item is not known (a
real post labelled only as a 12345 matter) teach the direction and danger heads, not the
category head.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from linkage.triage.model import (
    HEADS,
    NGRAMS,
    TriageModel,
    encode_idf,
    encode_weights,
    words_of,
)

SEED = 0
C = 10.0  # inverse regularisation of every head
MAX_NGRAMS = 30_000
MAX_WORDS = 15_000
UNKNOWN = ""  # a row's category when only its side is known


@dataclass
class Row:
    text: str
    township: str
    direction: str
    category: str  # a catalogue code, "-" for none, UNKNOWN when not labelled
    safety: bool
    source: str  # the set's name, or desk:<incident id>
    weight: float = 1.0


def _features(triager, rows: list[Row]):
    """The texts as the model reads them (Triager.prepare: numbers set aside), their words
    and their facts."""
    texts, words, facts = [], [], []
    for row in rows:
        text = triager.prepare(row.text[:4000])
        tokens, _, fact = triager.read(text)
        texts.append(text)
        words.append(words_of(tokens))
        facts.append(fact)
    return texts, words, facts


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def train(triager, rows: list[Row], version: str = "", info: dict | None = None) -> TriageModel:
    """A model trained on these rows (deterministic: same rows, same model)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, words, facts = _features(triager, rows)
    grams = TfidfVectorizer(
        analyzer="char", ngram_range=NGRAMS, sublinear_tf=True, min_df=2, max_features=MAX_NGRAMS
    )
    by_word = TfidfVectorizer(
        analyzer=_identity, sublinear_tf=True, min_df=2, max_features=MAX_WORDS
    )
    fact_names = sorted({k for f in facts for k in f})
    dense = np.array([[f.get(k, 0.0) for k in fact_names] for f in facts])
    X = hstack(
        [grams.fit_transform(texts), by_word.fit_transform(words), csr_matrix(dense)]
    ).tocsr()
    weight = np.array([r.weight for r in rows])
    labels = {
        "direction": [r.direction for r in rows],
        "category": [r.category for r in rows],
        "danger": ["true" if r.safety else "false" for r in rows],
    }
    heads = {}
    for name in HEADS:
        keep = np.array([y != UNKNOWN for y in labels[name]])
        y = [v for v, k in zip(labels[name], keep, strict=True) if k]
        if len(set(y)) < 2:  # a head with one class learns nothing: keep a neutral one
            y = [*y[:-1], "false" if name == "danger" else y[-1]]
        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=3000, random_state=SEED)
        clf.fit(X[keep], y, sample_weight=weight[keep])
        heads[name] = {
            "classes": [str(c) for c in clf.classes_],
            **encode_weights(clf.coef_),
            "intercept": np.round(clf.intercept_, 5).tolist(),
        }
    data = {
        "version": version or "untrained",
        "info": info or {},
        "ngram_range": list(NGRAMS),
        "ngrams": sorted(grams.vocabulary_, key=grams.vocabulary_.get),
        "idf": encode_idf(grams.idf_),
        "words": sorted(by_word.vocabulary_, key=by_word.vocabulary_.get),
        "word_idf": encode_idf(by_word.idf_),
        "facts": fact_names,
        "heads": heads,
    }
    return TriageModel(data, source="trained")
