"""The outbox's short form of a message: what is going out (the kind, the incident, the first
words of its text), with the caller's personal data masked, so a person can see what waits
without reading the raw payload."""

from __future__ import annotations

from typing import Any

from linkage.settings.masking import mask_name, mask_text

WIDTH = 60
KIND_LABELS = {
    "incident": "推送 push",
    "result": "结果回推 result",
    "reply": "回复 reply",
    "emergency_notice": "应急联动 notice",
}


def _text(kind: str, payload: dict[str, Any]) -> str:
    """The words a reader needs first: the description, the result, the reply."""
    if kind == "incident":
        report = payload.get("report") or {}
        return f"{report.get('category') or ''} {report.get('description') or ''}".strip()
    if kind == "result":
        parts = [(payload.get(loop) or {}).get("feedback") or "" for loop in ("police", "hotline")]
        text = "；".join(p for p in parts if p)
        return f"{payload.get('owner') or ''}: {text}" if payload.get("owner") else text
    if kind == "reply":
        to = f"→ {payload['phone']} " if payload.get("phone") else ""
        return f"{to}{payload.get('message') or payload.get('reply') or ''}"
    if kind == "emergency_notice":
        where = payload.get("address") or payload.get("township") or ""
        return f"{payload.get('unit_name') or ''} {where} {payload.get('description') or ''}"
    return str(payload)


def _names(payload: dict[str, Any]) -> list[str]:
    caller = (payload.get("report") or {}).get("caller") or {}
    return [n for n in (caller.get("name"),) if isinstance(n, str) and n]


def outbox_content(kind: str, incident_id: str, payload: dict[str, Any]) -> str:
    """`回复 reply police-JJ…: → 139****5678 您反映的…`: at most WIDTH characters of text."""
    text = " ".join(_text(kind, payload).split())
    for name in _names(payload):
        text = text.replace(name, mask_name(name))
    text = mask_text(text)
    if len(text) > WIDTH:
        text = text[: WIDTH - 1] + "…"
    return f"{KIND_LABELS.get(kind, kind)} {incident_id}: {text}"
