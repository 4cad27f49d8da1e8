"""The base of every model that crosses Temporal (inputs, results, updates, signals, queries).

Histories outlive the code that wrote them: a payload recorded by an older or newer worker must
still decode, so contract models ignore fields they do not know and every new field has a
default. At the edge (a platform's report, a party's action) unknown fields are mistakes, so
`from_edge` validates with a context that refuses them, naming each one.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

EDGE = {"edge": True}

M = TypeVar("M", bound=BaseModel)


class Contract(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_fields_at_the_edge(cls, data: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get("edge") and isinstance(data, dict):
            known = set(cls.model_fields)
            known |= {f.alias for f in cls.model_fields.values() if f.alias}
            unknown = sorted(str(k) for k in data if k not in known)
            if unknown:
                raise PydanticCustomError(
                    "unknown_field",
                    "unknown field(s) {fields}; known: {known}",
                    {"fields": ", ".join(unknown), "known": ", ".join(sorted(cls.model_fields))},
                )
        return data


def from_edge(model: type[M], data: Any) -> M:
    """Validate what a caller sent: unknown fields are refused, not silently dropped."""
    return model.model_validate(data, context=EDGE)
