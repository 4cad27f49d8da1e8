"""The HTTP API as a way in for the CLI: a desk (or the worker host) that has a token and the
API's address reads an incident's status and the lists through it, as the platforms do.

The API verifies the token, authorises, masks and audits; this side sends the token and shows
the answer. It loads no Temporal client and no SQL (the standard library's HTTP client and the
answer's shapes only), which is what makes `linkage status` start fast.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any

from linkage.client.errors import (
    ActionRefused,
    LinkageError,
    NoAnswer,
    UnknownIncident,
    answer_within,
)

# An answer larger than this is no answer of the API's (a list of 1,000 rows is well under it).
MAX_ANSWER_BYTES = 16 * 1024 * 1024


class ApiUnreachable(LinkageError):
    """Nothing answers at the API's address (connection refused, no such host, timed out)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as an error: followed, it would carry the token elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ARG002
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class ApiClient:
    """GET requests to the API with a bearer token; each error as the CLI says it."""

    def __init__(self, base_url: str, token: str, timeout: float | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        # the API waits up to the answer window for a workflow; a little more for the trip
        self.timeout = timeout or answer_within().total_seconds() + 10

    def status(self, incident_id: str) -> dict[str, Any]:
        return self._get(f"/incidents/{urllib.parse.quote(incident_id, safe='')}")

    def list(self, **filters: Any) -> list[dict[str, Any]]:
        """`filters` as LinkageClient.list takes them (running_only is `running`)."""
        query: dict[str, str] = {}
        for key, value in filters.items():
            key = "running" if key == "running_only" else key
            if value is None or value is False:
                continue
            if isinstance(value, datetime):
                value = value.isoformat()
            query[key] = "true" if value is True else str(value)
        return self._get("/incidents", query)

    def _get(self, path: str, query: dict[str, str] | None = None) -> Any:
        url = self.base_url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        request = urllib.request.Request(
            url, headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        )
        try:
            with _OPENER.open(request, timeout=self.timeout) as answer:
                return self._json(answer.read(MAX_ANSWER_BYTES + 1))
        except urllib.error.HTTPError as err:
            with err:
                if 300 <= err.code < 400:
                    raise LinkageError(
                        f"the API at {self.base_url} answered {err.code}, a redirect to "
                        f"{err.headers.get('Location', '?')}: name that address instead (a "
                        "token is never sent on to another address)"
                    ) from None
                raise self._error(err.code, err.read(MAX_ANSWER_BYTES + 1)) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
            reason = getattr(err, "reason", err)
            raise ApiUnreachable(f"cannot reach the API at {self.base_url}: {reason}") from None

    def _json(self, body: bytes) -> Any:
        if len(body) > MAX_ANSWER_BYTES:
            raise LinkageError(f"the API at {self.base_url} answered more than 16 MiB")
        try:
            return json.loads(body)
        except ValueError:
            raise LinkageError(f"the API at {self.base_url} answered no JSON") from None

    def _error(self, status: int, body: bytes) -> LinkageError:
        """The API's {"error": {"message"}} as the error the direct path raises."""
        try:
            message = str(json.loads(body)["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = body[:200].decode("utf-8", "replace").strip() or f"HTTP {status}"
        if status == 401:
            return LinkageError(f"not signed in: {message}")
        if status == 403:
            return LinkageError(f"refused: {message}")
        kind = {404: UnknownIncident, 409: ActionRefused, 503: NoAnswer}.get(status, LinkageError)
        return kind(message)
