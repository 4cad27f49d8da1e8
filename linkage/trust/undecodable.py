"""A payload that does not decrypt, passed on marked instead of failing everything around it.

The SDK decodes a workflow activation whole: one payload that does not open (a signal sent with
another keyring's key, by a misconfigured client or by someone at the dev server's port) would
fail the workflow's task on every retry, and stall the incident for good, since the signal
stays in its history. Through the tolerant codec such a payload becomes a marked one, and only
reading it fails, with the codec's reason: the SDK drops that signal (and logs it), refuses that
update, and a workflow whose own input does not open still fails its task, saying why.

The codec server decodes with the strict codec: a person asking to read it is told 4xx.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import EncodingPayloadConverter, PayloadCodec

UNDECODABLE = "binary/undecodable"


class TolerantCodec(PayloadCodec):
    """The codec for Temporal's traffic: encodes as the strict one; decodes each payload on its
    own, marking one that does not open."""

    def __init__(self, strict: PayloadCodec) -> None:
        self.strict = strict

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self.strict.encode(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            try:
                out.extend(await self.strict.decode([payload]))
            except (ValueError, DecodeError) as err:
                reason = str(err) or type(err).__name__
                out.append(
                    Payload(metadata={"encoding": UNDECODABLE.encode()}, data=reason.encode())
                )
        return out


class UndecodablePayloadConverter(EncodingPayloadConverter):
    """Reading a marked payload fails with the codec's reason; nothing is ever written so."""

    @property
    def encoding(self) -> str:
        return UNDECODABLE

    def to_payload(self, value: Any) -> Payload | None:
        return None

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        raise ValueError(
            f"a payload that could not be decoded: {payload.data.decode(errors='replace')}"
        )


class LinkagePayloadConverter(PydanticPayloadConverter):
    """Pydantic models as JSON, and marked payloads refused when read."""

    def __init__(self) -> None:
        super().__init__()
        self._set_converters(*self.converters.values(), UndecodablePayloadConverter())
