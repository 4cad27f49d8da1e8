"""`linkage status | act | whistle | list`: an incident's state, the parties' actions, the
duty officer's whistle, and the list and the work queues."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from linkage.client.errors import LinkageError
from linkage.domain.timefmt import district_zone, jsonable
from linkage.interfaces.cli.common import parse_actor, positive_int, print_json, with_client


def add_arguments(name: str, p: argparse.ArgumentParser) -> None:
    if name == "status":
        p.add_argument("id", help="incident ID, e.g. police-JJ20261129001")
    elif name == "act":
        _act_arguments(p)
    elif name == "whistle":
        _whistle_arguments(p)
    elif name == "list":
        _list_arguments(p)


def run(args) -> int:
    if args.command in ("status", "list"):
        from linkage.interfaces.cli.through_api import read_through_api

        read = status_from if args.command == "status" else listing_from
        done = read_through_api(args, lambda api: read(args, api))
        if done is not None:
            return done
    import asyncio

    handler = {"status": cmd_status, "act": cmd_act, "whistle": cmd_whistle, "list": cmd_list}
    return asyncio.run(with_client(handler[args.command], args))


def _act_arguments(p: argparse.ArgumentParser) -> None:
    from linkage.domain.action_specs import ACTIONS
    from linkage.domain.models import Role
    from linkage.interfaces.cli.act_options import ACTOR_HELP, OPTIONS, WHISTLE_HELP, add_options

    actions_help = "\n".join(f"  {name:<18} {spec.help}" for name, spec in ACTIONS.items())
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = (
        f"actions:\n{actions_help}\n\n`linkage act ACTION --help` shows an action's "
        f"flags and who may take it.\nroles: {', '.join(Role.__members__)}"
    )
    p.add_argument("id", help="incident ID")
    p.add_argument("action", choices=list(ACTIONS), metavar="ACTION", help="see below")
    p.add_argument(
        "--as", dest="actor", type=parse_actor, metavar="ROLE:UNIT[/PERSON]", help=ACTOR_HELP
    )
    add_options(p, list(OPTIONS), help=argparse.SUPPRESS)  # each action's help shows its own
    p.add_argument("--whistle", type=int, metavar="N", help=WHISTLE_HELP)


def _whistle_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="incident ID")
    p.add_argument(
        "--as",
        dest="actor",
        type=parse_actor,
        metavar="ROLE:UNIT[/PERSON]",
        help="the duty officer an operator plays (default: your token's principal)",
    )
    p.add_argument("--reason", required=True, help="why (重大风险隐患、可能影响社会稳定 …)")
    p.add_argument("--units", required=True, help="the units summoned, comma-separated")
    p.add_argument(
        "--deadline",
        type=float,
        metavar="HOURS",
        help="hours to report in (default: the time-limit table's)",
    )


def _list_arguments(p: argparse.ArgumentParser) -> None:
    from linkage.domain.models import Owner, Stage

    p.add_argument("--stage", choices=[s.value for s in Stage])
    p.add_argument("--owner", choices=[o.value for o in Owner])
    p.add_argument("--township", help="镇（街道）or zone, e.g. 黄埭镇")
    p.add_argument("--overdue", action="store_true", help="only incidents with a missed deadline")
    p.add_argument("--whistled", action="store_true", help="only incidents with a whistle blown")
    p.add_argument("--running", action="store_true", help="only incidents still open")
    p.add_argument(
        "--unit",
        help="what waits on this unit now (its queue 待办), by code, name or alias, e.g. 区城管局",
    )
    p.add_argument("--category", help="catalogue code or name, e.g. H02, H02.07 or 市容管理")
    p.add_argument("--safety", action="store_true", help="only incidents triage found a danger in")
    p.add_argument("--since", help="started on or after: a date (2026-12-01) or a time")
    p.add_argument("--until", help="started before the end of: a date, or before a time")
    p.add_argument("--limit", type=positive_int, default=100)


async def cmd_status(args, client) -> int:
    from linkage.client.views import status_as_seen

    return show_status(
        args, status_as_seen(client.party, await client.status(args.id), client.client.store)
    )


def status_from(args, api) -> int:
    """The status as the API answers it (linkage.interfaces.cli.through_api)."""
    from linkage.client.shapes import IncidentStatus

    return show_status(args, IncidentStatus.model_validate(api.status(args.id)))


def show_status(args, status) -> int:
    from linkage.interfaces.cli.display import render_status

    if args.json:
        print_json(status)
    else:
        print(render_status(status))
    return 0


async def cmd_act(args, client) -> int:
    from linkage.domain.action_specs import ACTIONS
    from linkage.interfaces.cli.act_options import OPTIONS, check_payload
    from linkage.interfaces.cli.display import render_action_done

    payload: dict[str, Any] = {}
    for option in OPTIONS:
        value = getattr(args, option)
        if value is not None:
            payload[option] = value
    spec = ACTIONS[args.action]
    unknown = set(payload) - set(spec.model.model_fields) - {"actor"}
    if unknown:
        options = ", ".join("--" + u.replace("_", "-") for u in sorted(unknown))
        raise LinkageError(f"{args.action} does not take {options}")
    try:
        check_payload(args.action, spec, {**payload, "actor": _actor_of(client)})
    except ValueError as err:
        raise LinkageError(str(err)) from None
    state = await client.act(args.id, args.action, payload, whistle=args.whistle)
    if args.json:
        print_json(state)
    else:
        print(render_action_done(args.id, args.action, state))
    return 0


def _actor_of(client) -> dict:
    """The actor the principal acts as: an operator names the party it plays with --as."""
    if client.party.workflow_role is None:
        raise LinkageError(
            f"a {client.party.role.value} takes no action on an incident itself; on the worker "
            "host the operator names the party it plays: --as ROLE:UNIT[/PERSON]"
        )
    return client.party.actor().model_dump()


async def cmd_whistle(args, client) -> int:
    from linkage.interfaces.cli.act_options import comma_list

    units = comma_list(args.units)
    call = {
        "reason": args.reason,
        "units": units,
        "deadline_hours": args.deadline,
    }
    state = await client.whistle(args.id, call)
    whistle = state.whistles[-1] if state.whistles else None
    if args.json:
        print_json(
            {
                "incident_id": args.id,
                "whistle": whistle.number if whistle else None,
                "units": units,
                "state": state.model_dump(mode="json"),
            }
        )
    else:
        number = f" #{whistle.number}" if whistle else ""
        print(
            f"{args.id}: whistle{number} blown; summoned {'、'.join(units)} to report in "
            f"(linkage act {args.id} report-in --as member_unit:UNIT)"
        )
    return 0


def list_filters(args) -> dict[str, Any]:
    """The list's filters as LinkageClient.list takes them; --since and --until read as the
    district's dates or times, each refusal naming its flag."""
    from linkage.client.shapes import parse_when

    zone = district_zone()
    try:
        since = parse_when(args.since, zone, "--since") if args.since else None
        until = parse_when(args.until, zone, "--until") if args.until else None
    except ValueError as err:
        raise LinkageError(str(err)) from None
    if until is not None and args.until and len(args.until.strip()) == 10:
        until += timedelta(days=1)  # --until 2026-12-01 takes in the whole day
    return dict(
        stage=args.stage,
        owner=args.owner,
        township=args.township,
        overdue=args.overdue,
        whistled=args.whistled,
        running_only=args.running,
        limit=args.limit,
        unit=args.unit,
        category=args.category,
        safety=True if args.safety else None,
        since=since,
        until=until,
    )


async def cmd_list(args, client) -> int:
    return show_listing(args, await client.list(**list_filters(args)))


API_LIST_LIMIT = 1000  # the API's own bound on one page (linkage.interfaces.api.app)


def listing_from(args, api) -> int:
    from linkage.client.shapes import IncidentListing

    if args.limit > API_LIST_LIMIT:
        raise LinkageError(
            f"--limit: at most {API_LIST_LIMIT} through the API (got {args.limit}); narrow the "
            "list, or read directly with LINKAGE_API_URL=none"
        )
    rows = api.list(**list_filters(args))
    return show_listing(args, [IncidentListing.model_validate(row) for row in rows])


def show_listing(args, rows) -> int:
    from linkage.interfaces.cli.display import render_listing

    if args.json:
        print_json([jsonable(r.model_dump()) for r in rows])
    else:
        print(render_listing(rows))
    return 0
