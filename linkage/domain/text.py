"""Text rules shared by every model a caller fills in: what is refused, and how text is normalised.

Two kinds of text field:

- a line (names, units, townships, addresses, references, categories): one line, no control
  characters at all;
- free text (descriptions, reasons, notes, results, messages): line breaks and tabs are kept
  (a CR LF or a lone CR becomes LF), every other control character is refused.

Both are normalised before anything matches on them: NFKC (full-width digits and letters become
ASCII, the ideographic space a space) and trimmed. Chinese punctuation is kept as written
(，：；！？（）…): it belongs to the names of units in the routing table and to what a caller
said. C0 and C1 control characters, DEL and the bidirectional overrides are refused everywhere,
with the character and its position named.

Phone numbers and ID numbers have rules of their own (`normalise_phone`, `normalise_id_number`),
kept here so that every module that keys on a number normalises it the same way.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import BeforeValidator

# Chinese punctuation NFKC would turn into ASCII; kept so that 阳澄湖镇人民政府（度假区管理办）
# still matches the routing table and a description reads as the caller's words.
_KEEP = re.compile("([，：；！？（）…])")
# C0 controls, DEL, C1 controls; and the bidirectional embeddings, overrides and isolates.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_FREE_TEXT_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("\r\n|\r|\u2028|\u2029|\x85")


def normalise(text: str) -> str:
    """NFKC except for Chinese punctuation, then trimmed. Idempotent."""
    parts = _KEEP.split(text)
    return "".join(p if _KEEP.fullmatch(p) else unicodedata.normalize("NFKC", p) for p in parts)


def _describe(char: str, position: int) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}{' ' + name if name else ''} at position {position + 1}"


def clean_line(text: str) -> str:
    """A one-line field: normalised; refuses line breaks and every control character."""
    value = normalise(text).strip()
    found = _CONTROL.search(value) or re.search("[\u2028\u2029]", value)
    if found:
        char = found.group()
        if char in "\n\r\u2028\u2029\x85":
            raise ValueError(f"must be one line: a line break ({_describe(char, found.start())})")
        raise ValueError(f"must not contain control characters ({_describe(char, found.start())})")
    return value


def clean_text(text: str) -> str:
    """A free-text field: normalised, line breaks as LF; refuses other control characters."""
    value = _LINE_BREAKS.sub("\n", normalise(text)).strip()
    found = _FREE_TEXT_CONTROL.search(value)
    if found:
        raise ValueError(
            f"must not contain control characters other than line breaks and tabs "
            f"({_describe(found.group(), found.start())})"
        )
    return value


_PHONE = re.compile(r"\+?[0-9(][0-9()\- ]*")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def normalise_phone(text: str) -> str:
    """A telephone number as digits only: the Chinese country code dropped, a foreign one kept
    behind 00. Accepts +86 and 0086, spaces, dashes, brackets and full-width digits.

    +86 139 1234 5678, 0086-139-1234-5678 and １３９１２３４５６７８ are all 13912345678;
    +86 512 6555 1234 is 051265551234 (the trunk 0 restored); +1 415 555 0100 is 0014155550100.
    """
    value = clean_line(text)
    if not _PHONE.fullmatch(value) or not re.search("[0-9]", value):
        raise ValueError(
            "must be a telephone number of digits, spaces or dashes (+86 or 0086 allowed)"
        )
    digits = re.sub(r"\D", "", value)
    if value.startswith("+"):
        if not digits.startswith("86"):
            return "00" + digits
        return _national(digits[2:])
    if digits.startswith("0086"):
        return _national(digits[4:])
    return digits


def _national(rest: str) -> str:
    """A Chinese number written after its country code, as it is dialled at home."""
    if not rest or rest.startswith("0") or _MOBILE.fullmatch(rest):
        return rest
    if rest.startswith("10") and len(rest) == 10:  # Beijing, 010 and eight digits
        return "0" + rest
    if rest.startswith("1"):  # a mobile or a service number
        return rest
    return "0" + rest  # an area code written without its trunk 0, e.g. 512 for 0512


_ID_NUMBER = re.compile(r"[0-9A-Z][0-9A-Z\-]*")


def normalise_id_number(text: str) -> str:
    """An ID (or passport) number: NFKC, no spaces, letters upper case (a final x becomes X)."""
    value = re.sub(r"\s+", "", clean_line(text)).upper()
    if value and not _ID_NUMBER.fullmatch(value):
        raise ValueError("must be an ID or passport number: letters, digits and dashes")
    return value


def _only_str(rule):
    def check(value: Any) -> Any:
        # Anything else is left to the str schema, which refuses it as not a string.
        return rule(value) if isinstance(value, str) else value

    return check


Line = Annotated[str, BeforeValidator(_only_str(clean_line))]
Text = Annotated[str, BeforeValidator(_only_str(clean_text))]
Phone = Annotated[str, BeforeValidator(_only_str(normalise_phone))]
IdNumber = Annotated[str, BeforeValidator(_only_str(normalise_id_number))]

__all__ = [
    "IdNumber",
    "Line",
    "Phone",
    "Text",
    "clean_line",
    "clean_text",
    "normalise",
    "normalise_id_number",
    "normalise_phone",
]
