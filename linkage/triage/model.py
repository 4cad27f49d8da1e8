"""The learned triage model: a linear model over character n-grams, words and the catalogue's
evidence.

It is trained by scikit-learn (linkage.triage.learn) and shipped as a JSON file beside the
catalogue, so that a district can read what it holds and no pickle is ever loaded; the weights
are float16 in base64, which keeps the file small. Reading a description here is the same
arithmetic as scikit-learn's TfidfVectorizer and LogisticRegression (checked in tests), done
directly on the few n-grams and words a description has, which keeps it well under a
millisecond. The words are the rules' own jieba tokens, so no second segmentation is made. Its
evidence is the n-grams and words that pushed its reading most, shown like the rules' terms.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections import Counter
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from linkage.settings.config import ConfigError
from linkage.settings.paths import config_dir
from linkage.triage.numbers import PLACEHOLDER

MODEL_FILE = "triage-model/model.json"
NGRAMS = (2, 2)  # character bigrams; words (jieba) carry the longer units
HEADS = ("direction", "category", "danger")
SET_ASIDE = PLACEHOLDER * 2  # a number set aside (linkage.triage.numbers) is no evidence


def words_of(tokens: list[str]) -> list[str]:
    """The words the model reads: jieba's tokens, lower-cased, without spaces, punctuation and
    numbers set aside (a number's presence says how a text was written, not what it asks)."""
    out = []
    for token in tokens:
        word = token.lower()
        if any(c.isalnum() for c in word) and word.strip(PLACEHOLDER + " .-:/"):
            out.append(word)
    return out


def encode_weights(coef: np.ndarray) -> dict:
    """A head's weights as float16 in base64, with their shape."""
    half = np.ascontiguousarray(coef, dtype="<f2")
    return {"shape": list(half.shape), "coef16": base64.b64encode(half.tobytes()).decode()}


def encode_idf(idf: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(idf, dtype="<f4").tobytes()).decode()


def decode_idf(value) -> np.ndarray:
    """idf values from either form: float32 in base64, or a plain list (older files)."""
    if isinstance(value, str):
        raw = base64.b64decode(value, validate=True)
        return np.frombuffer(raw, dtype="<f4").astype(np.float64)
    return np.asarray(value, dtype=np.float64)


def decode_weights(head: dict) -> np.ndarray:
    """A head's weights from either form: float16 in base64, or plain lists (older files)."""
    if "coef16" in head:
        raw = base64.b64decode(head["coef16"], validate=True)
        return np.frombuffer(raw, dtype="<f2").astype(np.float64).reshape(head["shape"])
    return np.asarray(head["coef"], dtype=np.float64)


def ngrams(text: str, sizes: tuple[int, int] = NGRAMS) -> list[str]:
    """Character n-grams as TfidfVectorizer(analyzer="char", lowercase=True) makes them."""
    text = text.lower()  # the text is normalised already: spaces collapsed, as sklearn does
    grams = []
    for n in range(sizes[0], sizes[1] + 1):
        grams += [text[i : i + n] for i in range(len(text) - n + 1)]
    return grams


@dataclass
class Head:
    """One linear classifier: its classes, weights (classes × features) and intercepts."""

    classes: list[str]
    coef: np.ndarray
    intercept: np.ndarray


def _probabilities(scores: list[float]) -> list[float]:
    """Softmax over a multinomial head's scores; the logistic of a binary head's one score
    (plain floats: for a handful of classes, faster than numpy's calls)."""
    if len(scores) == 1:
        p = 1.0 / (1.0 + math.exp(-scores[0]))
        return [1.0 - p, p]
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


@dataclass
class Reading:
    """What the model reads in one description."""

    direction: str
    direction_p: float
    category: str
    category_p: float
    danger_p: float
    evidence: list[str]


class TriageModel:
    def __init__(self, data: dict, source: str = "model") -> None:
        try:
            self.version: str = data["version"]
            self.info: dict = data.get("info", {})
            self.vocabulary: dict[str, int] = {g: i for i, g in enumerate(data["ngrams"])}
            self.idf = decode_idf(data["idf"])
            self.facts: list[str] = list(data["facts"])
            self.sizes = tuple(data.get("ngram_range", (1, 3)))
            at = len(self.vocabulary)
            self.words: dict[str, int] = {w: at + i for i, w in enumerate(data.get("words", []))}
            self.word_idf = decode_idf(data.get("word_idf", []))
            if len(self.word_idf) != len(self.words):
                raise ValueError(f"word_idf has {len(self.word_idf)} values for the words")
            at += len(self.words)
            self.fact_index = {name: at + i for i, name in enumerate(self.facts)}
            self._idf = np.concatenate([self.idf, self.word_idf])
            width = at + len(self.facts)
            self.heads = {}
            for name in HEADS:
                head = data["heads"][name]
                coef = decode_weights(head)
                if coef.shape[1] != width:
                    raise ValueError(f"heads.{name}.coef has {coef.shape[1]} columns, not {width}")
                self.heads[name] = Head(
                    list(head["classes"]), coef, np.asarray(head["intercept"], dtype=np.float64)
                )
        except (KeyError, TypeError, ValueError, IndexError, binascii.Error) as err:
            raise ConfigError(f"{source}: not a triage model file: {err}") from None
        self._weights: np.ndarray | None = None
        self._rows: dict[str, slice] = {}
        self._intercepts: np.ndarray | None = None
        self._by_index: list[str] | None = None
        if len(self.idf) != len(self.vocabulary):
            raise ConfigError(
                f"{source}: idf has {len(self.idf)} values for {len(self.vocabulary)} n-grams"
            )

    def vector(
        self, text: str, facts: dict[str, float], tokens: list[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The description's non-zero features: tf-idf of its n-grams and of its words (each
        block sublinear tf, l2 normalised) and the catalogue facts, as (indices, values)."""
        found = map(self.vocabulary.get, ngrams(text, self.sizes))
        if self.words and tokens is not None:
            # the vocabulary holds only what words_of keeps: a lookup drops the rest alike
            found = chain(found, map(self.words.get, map(str.lower, tokens)))
        counts = Counter(found)
        counts.pop(None, None)
        index = np.fromiter(counts, dtype=np.int64, count=len(counts))
        values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if len(index):  # one pass for both blocks, each then l2-normalised on its own
            values = (np.log(values) + 1.0) * self._idf[index]
            squares = values * values
            # the n-grams were counted first: the words' block starts where they end
            split = int(np.count_nonzero(index < len(self.vocabulary)))
            grams, words = squares[:split].sum(), squares[split:].sum()
            values[:split] /= math.sqrt(grams) if grams else 1.0
            values[split:] /= math.sqrt(words) if words else 1.0
        extra = [(self.fact_index[k], v) for k, v in facts.items() if v and k in self.fact_index]
        if extra:
            index = np.concatenate([index, np.array([i for i, _ in extra], dtype=np.int64)])
            values = np.concatenate([values, np.array([v for _, v in extra])])
        return index, values

    def _stacked(self) -> tuple[np.ndarray, dict[str, slice]]:
        """Every head's weights in one (features × rows) array: a description's features are
        then one gather of contiguous rows and one product."""
        if self._weights is None:
            rows, at = {}, 0
            for name, head in self.heads.items():
                rows[name] = slice(at, at + head.coef.shape[0])
                at += head.coef.shape[0]
            stacked = np.vstack([h.coef for h in self.heads.values()])
            self._weights = np.ascontiguousarray(stacked.T)
            del stacked
            self._intercepts = np.concatenate([h.intercept for h in self.heads.values()])
            self._rows = rows
            for name, head in self.heads.items():  # one copy of the weights, not two (7 MB)
                head.coef = self._weights[:, rows[name]].T
        return self._weights, self._rows

    def read(self, text: str, facts: dict[str, float], tokens: list[str] | None = None) -> Reading:
        index, values = self.vector(text, facts, tokens)
        weights, rows = self._stacked()
        gathered = weights[index]  # nnz × rows
        scores = (values @ gathered + self._intercepts).tolist()
        read = {}
        for name, head in self.heads.items():
            p = _probabilities(scores[rows[name]])
            best = max(range(len(p)), key=p.__getitem__)
            read[name] = (head.classes[best], p[best], best, p)
        direction, direction_p, row, _ = read["direction"]
        danger = read["danger"][3][self.heads["danger"].classes.index("true")]
        column = rows["direction"].start + (row if self.heads["direction"].coef.shape[0] > 1 else 0)
        contributions = gathered[:, column] * values
        return Reading(
            direction=direction,
            direction_p=round(direction_p, 3),
            category=read["category"][0],
            category_p=round(read["category"][1], 3),
            danger_p=round(float(danger), 3),
            evidence=self._evidence(index, contributions),
        )

    def _evidence(self, index: np.ndarray, contributions: np.ndarray) -> list[str]:
        """The n-grams and words that pushed the direction most, longest first where they
        overlap."""
        n_grams = len(self.vocabulary) + len(self.words)
        names = self._names()
        pushed = contributions.tolist()
        order = sorted((i for i, c in enumerate(pushed) if c > 0), key=pushed.__getitem__)
        order = order[:-13:-1]  # the twelve that pushed most, most first
        at = index.tolist()
        chosen: list[str] = []
        for i in order:
            if at[i] >= n_grams:
                continue  # a catalogue fact, not words of the description
            gram = names[at[i]]
            if len(gram) < 2 or SET_ASIDE in gram or not gram.isalnum():
                continue  # no punctuation or numbers set aside shown as evidence
            if any(gram in c for c in chosen):
                continue
            chosen = [c for c in chosen if c not in gram] + [gram]
            if len(chosen) == 4:
                break
        return chosen

    def _names(self) -> list[str]:
        if self._by_index is None:
            self._by_index = [*self.vocabulary, *self.words]
        return self._by_index


def model_path() -> Path:
    return config_dir() / MODEL_FILE


def load_model(path: Path | None = None) -> TriageModel | None:
    """The district's current model, or None when it ships none (the rules decide alone)."""
    path = path or model_path()
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path.name}: cannot be read as JSON: {err}") from None
    return TriageModel(data, source=f"{path.parent.name}/{path.name}")


def save_model(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)
