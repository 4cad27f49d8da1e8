"""Masking a caller's personal data in text: names, mobile and landline numbers, ID numbers,
and the names this process was told. Apart from the logs' configuration (linkage.settings.logs)
so that what shows text to a person (the CLI, the outbox) masks it without loading structlog."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

_PERSONAL_KEYS = {"caller_name", "caller_phone", "caller_id_number", "phone", "id_number", "name"}
# Mainland mobile and landline numbers, and 18-digit resident ID numbers, wherever they appear:
# digits full-width or not, groups apart by a hyphen, dot or space, an area code in brackets.
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_SEP = r"[-.\s－．\u3000]?"
_ID_NUMBER = re.compile(
    rf"(?<![0-9])([1-9][0-9]{{5}}){_SEP}[0-9]{{4}}{_SEP}[0-9]{{4}}{_SEP}([0-9]{{3}}[0-9Xx])(?![0-9])"
)
# A name told in free text: after the words that introduce a person (来电人王小明, 姓名：李四).
_NAMED = re.compile(
    r"((?:来电人|报警人|求助人|投诉人|反映人|当事人|联系人|举报人|姓名|名叫|我叫|市民)[:：\s]*)"
    r"([\u4e00-\u9fff])([\u4e00-\u9fff]{1,3})"
)
_PHONE = re.compile(
    rf"(?<![0-9])((?:[+＋]?86{_SEP})?1[3-9][0-9]){_SEP}[0-9]{{4}}{_SEP}([0-9]{{4}})(?![0-9])"
)
_LANDLINE = re.compile(
    rf"(?<![0-9])([(（]?0[0-9]{{2,3}}[)）]?{_SEP})[0-9]{{3,4}}{_SEP}([0-9]{{4}})(?![0-9])"
)


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_text(text: str) -> str:
    text = text.translate(_FULL_WIDTH_DIGITS)
    text = _ID_NUMBER.sub(r"\1********\2", text)
    text = _PHONE.sub(r"\1****\2", text)
    text = _LANDLINE.sub(r"\1****\2", text)
    return _NAMED.sub(lambda m: m.group(1) + m.group(2) + "*" * len(m.group(3)), text)


# Callers' names this process was told (the reports it took, the incidents it wrote steps of):
# a note says "已电话联系王小明" with no word before the name that the patterns know.
_KNOWN_NAMES: OrderedDict[str, None] = OrderedDict()
_KNOWN_LOCK = threading.Lock()
KNOWN_NAMES_KEPT = 10_000
CALLERS_KEY = "callers"  # a log call's own names to mask: log.info(..., callers=[name])


def tell_names(*names: str) -> None:
    """Names the logs mask wherever they appear, from now on (the newest kept, a bounded few)."""
    with _KNOWN_LOCK:
        for name in names:
            name = (name or "").strip()
            if len(name) >= 2:
                _KNOWN_NAMES[name] = None
                _KNOWN_NAMES.move_to_end(name)
        while len(_KNOWN_NAMES) > KNOWN_NAMES_KEPT:
            _KNOWN_NAMES.popitem(last=False)


def mask_known_names(text: str, names: Iterable[str] = ()) -> str:
    """The names told (and `names`) masked in the text, the longest first."""
    with _KNOWN_LOCK:
        known = [*_KNOWN_NAMES, *(n.strip() for n in names if n and len(n.strip()) >= 2)]
    for name in sorted(set(known), key=len, reverse=True):
        if name in text:
            text = text.replace(name, mask_name(name))
    return text


def _mask_value(key: str, value: Any, names: tuple[str, ...] = ()) -> Any:
    if isinstance(value, dict):
        return {k: _mask_value(k, v, names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(key, v, names) for v in value]
    if not isinstance(value, str):
        return value
    if key in ("caller_name", "name"):
        return mask_name(value)
    if key in _PERSONAL_KEYS:
        return mask_text(value) if value != mask_text(value) else "***"
    return mask_text(mask_known_names(value, names))
