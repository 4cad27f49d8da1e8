"""Prometheus' HTTP query API, as the renderer reads it: a panel's targets as range queries
(or instant ones, for a table), each answer as series of (time, value) bounded in number and
length, and the scrape interval from the server's own configuration."""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import yaml

MAX_SERIES = 20  # per panel; the rest are counted, not drawn
MAX_POINTS = 240  # per series: the step is chosen so a range gives at most this many
DEFAULT_SCRAPE = 15.0  # Grafana's default for a Prometheus data source
TIMEOUT = 30


class QueryFailed(Exception):
    """Prometheus refused a query (bad PromQL, an unknown function) or did not answer."""


@dataclass
class Series:
    labels: dict[str, str]
    times: list[float]
    values: list[float | None]  # None for NaN and ±Inf (a gap in the line)


@dataclass
class Answer:
    series: list[Series] = field(default_factory=list)
    dropped: int = 0  # series beyond MAX_SERIES


def _value(text: str) -> float | None:
    value = float(text)
    return None if math.isnan(value) or math.isinf(value) else value


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _get(self, path: str, **params: object) -> dict:
        query = urllib.parse.urlencode({k: str(v) for k, v in params.items()})
        address = f"{self.url}{path}?{query}" if query else f"{self.url}{path}"
        try:
            with urllib.request.urlopen(address, timeout=TIMEOUT) as answer:
                body = json.load(answer)
        except urllib.error.HTTPError as err:  # 400/422: Prometheus says why in the body
            try:
                body = json.load(err)
            except ValueError:
                raise QueryFailed(f"{err.code} {err.reason}") from None
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise QueryFailed(f"{self.url}: {err}") from None
        if body.get("status") != "success":
            raise QueryFailed(body.get("error") or json.dumps(body)[:200])
        return body["data"]

    def scrape_interval(self) -> float:
        """The global scrape interval of the server's configuration, in seconds."""
        try:
            config = yaml.safe_load(self._get("/api/v1/status/config")["yaml"])
            return seconds(config["global"]["scrape_interval"])
        except (QueryFailed, KeyError, TypeError, ValueError, yaml.YAMLError):
            return DEFAULT_SCRAPE

    def query_range(self, expr: str, start: float, end: float, step: float) -> Answer:
        data = self._get("/api/v1/query_range", query=expr, start=start, end=end, step=step)
        return _answer(data, MAX_POINTS)

    def query(self, expr: str, at: float) -> Answer:
        return _answer(self._get("/api/v1/query", query=expr, time=at), 1)


def _answer(data: dict, points: int) -> Answer:
    kind, result = data["resultType"], data["result"]
    if kind == "scalar":
        result = [{"metric": {}, "value": result}]
    elif kind == "string":
        return Answer()
    found = []
    for item in result:
        pairs = item.get("values") or ([item["value"]] if "value" in item else [])
        pairs = pairs[-points:]
        found.append(
            Series(
                labels=item.get("metric", {}),
                times=[float(t) for t, _ in pairs],
                values=[_value(v) for _, v in pairs],
            )
        )
    return Answer(series=found[:MAX_SERIES], dropped=max(0, len(found) - MAX_SERIES))


def seconds(text: str) -> float:
    """A Prometheus duration ("15s", "1m30s", "2h") in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)", text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * units[u] for n, u in parts)


def step_for(range_seconds: float, scrape: float) -> float:
    """The step of a range query: the range over MAX_POINTS, never below the scrape interval,
    rounded up to a whole second."""
    return float(max(math.ceil(scrape), math.ceil(range_seconds / MAX_POINTS)))
