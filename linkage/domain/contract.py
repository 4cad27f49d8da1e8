"""The base of every model that crosses Temporal (inputs, results, updates, signals, queries).

Histories outlive the code that wrote them: a payload recorded by an older or newer worker must
still decode, so contract models ignore fields they do not know and every new field has a
default. At the edge (a platform's report, a party's action) unknown fields are mistakes, so
`from_edge` validates with a context that refuses them, naming each one where it stands (for
example `caller.nickname`), together with every other problem of the same document.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

EDGE = {"edge": True}

M = TypeVar("M", bound=BaseModel)


def at_edge(info: ValidationInfo) -> bool:
    """Whether this validation checks what a caller sent (rather than a decoded history)."""
    return bool(info.context and info.context.get("edge"))


class Contract(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="wrap")
    @classmethod
    def _no_unknown_fields_at_the_edge(
        cls, data: Any, handler: ModelWrapValidatorHandler[Any], info: ValidationInfo
    ) -> Any:
        if not (at_edge(info) and isinstance(data, dict)):
            return handler(data)
        known = set(cls.model_fields)
        known |= {f.alias for f in cls.model_fields.values() if f.alias}
        unknown = [k for k in data if k not in known]
        if not unknown:
            return handler(data)
        problems: list[InitErrorDetails] = []
        try:
            handler({k: v for k, v in data.items() if k in known})
        except ValidationError as err:
            problems += [
                InitErrorDetails(
                    type=PydanticCustomError(e["type"], e["msg"]),
                    loc=e["loc"],
                    input=e["input"],
                )
                for e in err.errors()
            ]
        # the fields the caller may send: not those the system fills in (the actor, say)
        hidden = (info.context or {}).get("hidden", ())
        names = ", ".join(sorted(set(cls.model_fields) - set(hidden)))
        for key in unknown:
            problems.append(
                InitErrorDetails(
                    type=PydanticCustomError(
                        "unknown_field", "unknown field; known: {known}", {"known": names}
                    ),
                    loc=(str(key),),
                    input=data[key],
                )
            )
        raise ValidationError.from_exception_data(cls.__name__, problems)


def from_edge(model: type[M], data: Any, hidden: frozenset[str] | set[str] = frozenset()) -> M:
    """Validate what a caller sent: unknown fields are refused, not silently dropped, and the
    refusal lists the fields the caller may send (`hidden` are those it may not)."""
    return model.model_validate(data, context={**EDGE, "hidden": hidden})
