"""The flags of `linkage act`: one table from an action's payload fields to the flags a person
types, so that each action's help shows only its own flags (and who may take it), and a missing
or bad field is reported under the flag's name (`reply: --message is required`)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import ValidationError

from linkage.domain.action_specs import ACTIONS, ActionSpec
from linkage.domain.catalogue import Direction
from linkage.domain.contract import from_edge
from linkage.domain.models import Owner, RevisitOutcome


def comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.replace("，", ",").split(",") if part.strip()]


@dataclass(frozen=True)
class Option:
    flag: str
    help: str
    kwargs: dict[str, Any] = field(default_factory=dict)


# Payload field -> flag. `actor` is --as (see cli.parse_actor); fixed fields have no flag.
OPTIONS: dict[str, Option] = {
    "unit": Option("--unit", "the unit to command or dispatch to (default: triage's route)"),
    "units": Option("--units", "emergency unit codes, e.g. 119,120,gas", {"type": comma_list}),
    "reason": Option("--reason", "why"),
    "note": Option("--note", "a note for the timeline"),
    "hours": Option("--hours", "the extension asked for, in hours", {"type": float}),
    "result": Option("--result", "what the handling unit did"),
    "message": Option("--message", "the reply to the citizen"),
    "outcome": Option(
        "--outcome", "the revisit's result", {"choices": [o.value for o in RevisitOutcome]}
    ),
    "owner": Option("--owner", "who handles", {"choices": [o.value for o in Owner]}),
    "divert_reason": Option(
        "--divert-reason", "the revised push reason", {"dest": "divert_reason"}
    ),
    "direction": Option("--direction", "who handles", {"choices": get_args(Direction)}),
    "subcategory": Option("--subcategory", "catalogue item, e.g. H02.07 or 餐饮油烟"),
}
FLAGS = {"actor": "--as", **{name: option.flag for name, option in OPTIONS.items()}}
ACTOR_HELP = (
    "the party the host's operator plays, e.g. member_unit:区城管局/钱科长; with a token, "
    "leave it out (you act as the token's principal)"
)
WHISTLE_HELP = "the whistle to act on (default: the newest open one that summoned you)"


def fields_of(spec: ActionSpec) -> list[str]:
    """The flags an action takes, as payload field names, in the table's order."""
    model_fields = spec.model.model_fields
    return [name for name in OPTIONS if name in model_fields and name not in spec.fixed]


def required(spec: ActionSpec, name: str) -> bool:
    return spec.model.model_fields[name].is_required() or name in spec.needs


def add_options(parser: argparse.ArgumentParser, names: list[str], **kwargs: Any) -> None:
    for name in names:
        option = OPTIONS[name]
        parser.add_argument(option.flag, **{"help": option.help, **option.kwargs, **kwargs})


def action_help(name: str, actor_type: Any) -> str:
    """`linkage act ACTION --help`: that action's flags, which are required, who may take it."""
    spec = ACTIONS[name]
    parser = argparse.ArgumentParser(
        prog=f"linkage act ID {name}",
        description=f"{spec.help}\n\nwho may take it: {spec.who}\nID: the incident, e.g. "
        "police-JJ20261129001",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    must = parser.add_argument_group("required")
    names = fields_of(spec)
    add_options(must, [n for n in names if required(spec, n)], required=True)
    optional = parser.add_argument_group("optional")
    optional.add_argument(
        "--as", dest="actor", type=actor_type, metavar="ROLE:UNIT[/PERSON]", help=ACTOR_HELP
    )
    add_options(optional, [n for n in names if not required(spec, n)])
    if spec.loop == "whistle":
        optional.add_argument("--whistle", type=int, metavar="N", help=WHISTLE_HELP)
    optional.add_argument("--json", action="store_true", help="machine-readable output")
    return parser.format_help()


def help_requested(argv: list[str]) -> str | None:
    """The action whose help `linkage act [ID] ACTION --help` asks for, if that is the call."""
    if not argv or argv[0] != "act" or not {"-h", "--help"} & set(argv[1:]):
        return None
    words = [a for a in argv[1:] if not a.startswith("-")][:2]
    return next((w for w in words if w in ACTIONS), None)


def _problem(message: str) -> str:
    for said, says in (
        ("Value error, ", ""),
        ("Input should be ", "must be "),
        ("String should ", "must "),
        ("List should ", "must "),
        ("Input should ", "must "),
    ):
        if message.startswith(said):
            return says + message.removeprefix(said)
    return message


def check_payload(action: str, spec: ActionSpec, payload: dict[str, Any]) -> None:
    """Refuse, naming the flag, what the action's model or its workflow would refuse for a
    missing or malformed field; raises ValueError with one line per problem."""
    lines = [f"{action}: {FLAGS[name]} is required" for name in spec.needs if not payload.get(name)]
    try:
        from_edge(spec.model, {**payload, **spec.fixed})
    except ValidationError as err:
        for problem in err.errors():
            name, *rest = [str(p) for p in problem["loc"]] or ["(payload)"]
            flag = FLAGS.get(name, "--" + name.replace("_", "-"))
            if problem["type"] == "missing" and not rest:
                lines.append(f"{action}: {flag} is required")
                continue
            where = "".join(f" {'item ' + str(int(p) + 1) if p.isdigit() else p}:" for p in rest)
            lines.append(f"{action}: {flag}:{where} {_problem(problem['msg'])}")
    if lines:
        raise ValueError("\n".join(dict.fromkeys(lines)))
