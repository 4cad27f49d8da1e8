"""The triage's compact dictionary (linkage.triage.lexicon) reads every text as jieba does: the
same word lattice and the same path (jieba's cut without the HMM), with the catalogue's words
added at the same frequency, on every description of the triage's data sets."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import jieba
import pytest

from linkage.triage.lexicon import Lexicon

DATA = Path(__file__).parent / "data" / "triage"
ADDED = ["占道经营", "人行道", "噪音扰民", "油烟", "电动车充电", "高空抛物", "非警务"]
FREQ = 200_000


def descriptions() -> list[str]:
    texts = []
    for path in sorted(DATA.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            text = row.get("text") or row.get("description")
            if isinstance(text, str):
                texts.append(text)
    # the edges: nothing, one character, letters and digits, no dictionary word at all
    return texts + ["", "占", "ABC123 占道", "𠀀𠀁𠀂", "\n\t ", "人行道人行道人行道" * 30]


@pytest.fixture(scope="module")
def both() -> tuple[Lexicon, jieba.Tokenizer]:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in sorted(ADDED):
        tokenizer.add_word(word, freq=FREQ)
    return Lexicon(ADDED, FREQ), tokenizer


def test_the_lattice_and_the_path_are_jiebas_on_every_description(both):
    lexicon, tokenizer = both
    texts = descriptions()
    assert len(texts) > 1000
    assert lexicon.total == tokenizer.total
    for text in texts:
        ends, weights = lexicon.lattice(text)
        assert ends == tokenizer.get_DAG(text), text
        route: dict = {}
        tokenizer.calc(text, ends, route)
        assert lexicon.path(text, ends, weights)[: len(text)] == [
            route[x][1] for x in range(len(text))
        ], text


def test_an_added_word_is_a_word_and_its_prefix_is_not(both):
    lexicon, _ = both
    assert "占道经营" in lexicon and "电动车充电" in lexicon
    assert "电动车充" not in lexicon  # a prefix only: never a word of the lattice
    ends, _ = lexicon.lattice("电动车充电")
    assert 4 in ends[0]
