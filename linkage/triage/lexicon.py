"""jieba's dictionary in a compact trie (marisa-trie): the same words, frequencies and total as
jieba.Tokenizer with the catalogue's words added, so the same word lattice and the same path
through it, in some 5 MiB where jieba's own dictionary (a dict of 500,000 words and prefixes)
takes 60-70 MiB in every worker.

The lattice is jieba's get_DAG: at each position, the end of every dictionary word that starts
there (the position itself when none does). The path is jieba's calc without the HMM: the
route of the highest summed log frequency, a word not in the dictionary counting as 1. Both are
checked against jieba's own in tests/test_triage_lexicon.py.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable

import marisa_trie

Lattice = dict[int, list[int]]  # start → the last position of each word that starts there
Weights = dict[int, list[float]]  # start → each of those words' log frequency


def _dictionary() -> list[tuple[str, int]]:
    """jieba's main dictionary, a word and its frequency a line, as jieba reads it."""
    import jieba

    with jieba.get_dict_file() as source:
        lines = source.read().decode("utf-8").splitlines()
    entries = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        word, freq = line.split(" ")[:2]
        try:
            entries.append((word, int(freq)))
        except ValueError:
            raise ValueError(f"jieba's dictionary, line {number}: bad frequency") from None
    return entries


def give_back_scratch() -> None:
    """Return the heap the build used and freed (some 20 MiB: the dictionary's lines, the trie's
    build) to the system; glibc keeps it otherwise. Elsewhere, nothing."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return  # no glibc: its allocator is not the one to ask


class Lexicon:
    """Built once per process (about a second), then read by any thread: a trie is never
    changed after it is built."""

    def __init__(self, added: Iterable[str] = (), added_freq: int = 0) -> None:
        added = sorted({word for word in added if word})
        words = set(added)
        entries = _dictionary()
        # jieba's total counts every line of its dictionary (0s too), and add_word adds each
        # added word's frequency again, whatever the word had
        self.total = sum(freq for _, freq in entries) + added_freq * len(added)
        kept = [(w, f) for w, f in entries if f > 0 and w not in words]
        kept += [(word, added_freq) for word in added]
        del entries
        self._trie = marisa_trie.Trie(word for word, _ in kept)
        self._log_freq = array("d", [0.0]) * len(self._trie)
        key_id, log_freq = self._trie.key_id, self._log_freq
        for word, freq in kept:
            log_freq[key_id(word)] = math.log(freq) if freq > 0 else 0.0
        self._longest = max((len(word) for word, _ in kept), default=1)
        self._log_total = math.log(self.total) if self.total > 0 else 0.0
        del kept
        give_back_scratch()

    def __contains__(self, word: str) -> bool:
        return word in self._trie

    def lattice(self, text: str) -> tuple[Lattice, Weights]:
        """jieba's get_DAG of the text, and the log frequency of each of its words."""
        ends: Lattice = {}
        weights: Weights = {}
        prefixes, log_freq = self._trie.iter_prefixes_with_ids, self._log_freq
        longest = self._longest
        for start in range(len(text)):
            here, weight = [], []
            for word, key in prefixes(text[start : start + longest]):
                here.append(start + len(word) - 1)
                weight.append(log_freq[key])
            ends[start], weights[start] = (here, weight) if here else ([start], [0.0])
        return ends, weights

    def path(self, text: str, ends: Lattice, weights: Weights) -> list[int]:
        """jieba's path without the HMM: route[x] is where the word that starts at x ends, on the
        route of the highest summed log frequency (a word not in the dictionary counting as
        frequency 1, and the later end winning a tie, as jieba's max over (score, end) does)."""
        size = len(text)
        score, route = [0.0] * (size + 1), [0] * (size + 1)
        log_total = self._log_total
        for start in range(size - 1, -1, -1):
            score[start], route[start] = max(
                (weight - log_total + score[end + 1], end)
                for end, weight in zip(ends[start], weights[start], strict=True)
            )
        return route
