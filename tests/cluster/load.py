"""A platform's burst as the platforms send it: reports through the API instances (the next
instance when one does not answer, as a load balancer would), each sent again until it is
answered, with the same report and the same request ID every time; and what each attempt saw.

Shared by the cluster tier's fault tests and the cluster benchmark.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

from tests.conftest import make_report

RETRIED = {500, 502, 503, 504}  # the platform sends the same thing again


@dataclass
class Attempt:
    what: str
    status: int | str  # an HTTP status, or the connection error's name
    seconds: float
    at: float  # seconds since the burst began


@dataclass
class Outcome:
    received: dict[str, str] = field(default_factory=dict)  # reference -> incident ID
    reviewed: dict[str, str] = field(default_factory=dict)  # incident ID -> request ID
    given_up: list[str] = field(default_factory=list)  # never answered within the patience
    refused: dict[str, str] = field(default_factory=dict)  # what -> the final answer, if not OK
    attempts: list[Attempt] = field(default_factory=list)

    def seen(self, since: float = 0, until: float = 1e9) -> dict[str, int]:
        """What the callers saw between two moments: each status and how often."""
        return dict(
            Counter(str(a.status) for a in self.attempts if since <= a.at <= until).most_common()
        )

    def longest_wait(self) -> float:
        return max((a.seconds for a in self.attempts), default=0.0)


class Platform:
    def __init__(self, urls: list[str], tokens: dict[str, str], patience: float = 240) -> None:
        self.urls = itertools.cycle(urls)
        self.tokens = tokens
        self.patience = patience
        self.started = time.monotonic()
        self.outcome = Outcome()
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(30, connect=2))

    async def close(self) -> None:
        await self.http.aclose()

    async def send(self, what: str, path: str, role: str, body: dict) -> httpx.Response | None:
        """Send until answered (anything but a retried status or a connection failure) or
        until the patience runs out (None)."""
        deadline = time.monotonic() + self.patience
        pause = 0.2
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        while time.monotonic() < deadline:
            began = time.monotonic()
            try:
                answer = await self.http.post(
                    f"{next(self.urls)}{path}", json=body, headers=headers
                )
                status: int | str = answer.status_code
            except httpx.HTTPError as err:
                answer, status = None, type(err).__name__
            self.outcome.attempts.append(
                Attempt(what, status, time.monotonic() - began, began - self.started)
            )
            if answer is not None and answer.status_code not in RETRIED:
                return answer
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, 2.0)
        return None

    async def divert_and_review(self, origin: str = "police") -> None:
        """A station's push, then the bureau's review of it, as two platforms would."""
        report = make_report(origin)
        answer = await self.send("divert", "/reports", "station", report)
        if answer is None or answer.status_code not in (200, 201, 202):
            self.outcome.given_up.append(report["reference"])
            return
        incident = answer.json()["incident_id"]
        self.outcome.received[report["reference"]] = incident
        request_id = uuid.uuid4().hex
        path = f"/incidents/{incident}/actions/review"
        answer = await self.send("review", path, "bureau", {"request_id": request_id})
        if answer is not None and answer.status_code == 200:
            self.outcome.reviewed[incident] = request_id
        else:
            final = "no answer" if answer is None else f"{answer.status_code} {answer.text[:300]}"
            self.outcome.refused[f"review {incident}"] = final


async def burst(platform: Platform, reports: int, concurrency: int = 16) -> Outcome:
    """`reports` pushes and their reviews, `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await platform.divert_and_review()

    await asyncio.gather(*(one() for _ in range(reports)))
    return platform.outcome
