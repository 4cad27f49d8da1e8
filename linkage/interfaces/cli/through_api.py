"""`linkage status` and `linkage list` through the HTTP API, when there is one to read through.

Which API: LINKAGE_API_URL; else the profile's `api`; else the API of this machine's running
`linkage up`, unless another Temporal is named (LINKAGE_TEMPORAL_ADDRESS: the up's API serves
the up's own). `LINKAGE_API_URL=none` reads Temporal and the records directly, as a command
does where no API is named or there is no token to send it (only the host's signing key).

The API verifies the token, authorises, masks what the principal may not see and audits the
read (via "api"), as for a platform: the CLI sends the token and shows the answer. A named API
that does not answer is an error; a `linkage up` that has just stopped falls back to reading
directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from linkage.client.errors import LinkageError
from linkage.client.remote import ApiClient, ApiUnreachable
from linkage.interfaces.cli.credentials import profile_api, written_token


def api_for(args) -> tuple[ApiClient, bool] | None:
    """The API to read through and whether it was named (not found running), or None."""
    configured = os.environ.get("LINKAGE_API_URL", "").strip()
    if configured.lower() == "none":
        return None
    if configured and not configured.startswith(("http://", "https://")):
        raise LinkageError(
            f"LINKAGE_API_URL: must be an http:// or https:// address, or none (got {configured!r})"
        )
    url = configured or profile_api(args.profile or os.environ.get("LINKAGE_PROFILE"))
    named = bool(url)
    if not url and not os.environ.get("LINKAGE_TEMPORAL_ADDRESS"):
        from linkage.settings import runfile

        url = runfile.api_url()
    token = written_token(args.profile) if url else None
    return (ApiClient(url, token), named) if url and token else None


def read_through_api(args, read: Callable[[ApiClient], int]) -> int | None:
    """`read(api)` (the command, shown as the direct path shows it) when there is an API to read
    through; None when the command is to read directly."""
    found = api_for(args)
    if found is None:
        return None
    api, named = found
    try:
        return read(api)
    except ApiUnreachable:
        if named:
            raise
        return None  # the `linkage up` recorded has stopped its API: read directly
