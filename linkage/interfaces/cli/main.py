"""`linkage`: the command line for the platforms, the parties and the supervisors.

Every command takes --json for machine-readable output. Errors go to stderr with what was wrong;
the exit code is 1 for a refused or failed command and 2 for a usage mistake.

Each command group is a module of its own (diverting, incidents, triage, system, reports,
tokens), imported only when its command runs: `linkage --help` loads none of them, and
`linkage status ID` loads what a status needs and nothing more.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

# command: (its module in linkage.interfaces.cli, its help, whether it takes --json)
COMMANDS: dict[str, tuple[str, str, bool]] = {
    "up": ("system", "run the system: Temporal dev server, Web UI and a worker", False),
    "worker": (
        "system",
        "run a worker against a running Temporal server (linkage up's, by default)",
        False,
    ),
    "serve": ("system", "the HTTP API for the platforms and the desks", False),
    "codec-server": ("system", "decode payloads for the Web UI (supervisors)", False),
    "ui-gate": ("system", "sign people in to a cluster's Temporal Web UI (read-only)", False),
    "setup": ("system", "make a Temporal cluster and the records database ready", True),
    "divert": ("diverting", "push an incident (分流推送)", True),
    "status": ("incidents", "stage, loops, deadlines, timeline", True),
    "act": ("incidents", "take a party's action on an incident", True),
    "whistle": (
        "incidents",
        "blow the whistle (吹哨): summon units to report in and handle jointly",
        True,
    ),
    "keys": ("system", "the payload codec's keys: list or rotate", False),
    "list": ("incidents", "search incidents (Temporal visibility)", True),
    "triage": (
        "triage",
        "classify a description: police or 12345, catalogue item, unit (非警务甄别)",
        True,
    ),
    "outbox": ("system", "messages to the platforms and the SMS gateway (双推送)", True),
    "demo": ("system", "feed realistic incidents and play every party", True),
    "report": (
        "reports",
        "月研判 / 季会商 / 年总结, the reports produced, and supervision evidence",
        True,
    ),
    "token": ("tokens", "issue, revoke and list tokens (operators)", False),
    "audit": ("tokens", "who did or was refused what", True),
    "release": (
        "release",
        "a new release of the workers: status, ramp, promote (behind a replay gate)",
        True,
    ),
}
# groups that build their own subcommands (each with its own sub-subcommands)
SELF_BUILT = {"report": ("reports", "add_parser"), "token": ("tokens", "add_parsers")}
SELF_BUILT["audit"] = SELF_BUILT["token"]


def chosen_command(argv: list[str]) -> str | None:
    """The command word of a call (after the global options), if it names one."""
    rest = iter(argv)
    for word in rest:
        if word == "--profile":
            next(rest, None)
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def _group(name: str):
    return importlib.import_module(f"linkage.interfaces.cli.{COMMANDS[name][0]}")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the chosen command's own arguments are built (and imported)."""
    parser = argparse.ArgumentParser(
        prog="linkage",
        description="12345 热线 与 110 平台 对接联动: divert incidents and see each one through.",
    )
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help="act with this profile's token (profiles.toml); default: LINKAGE_TOKEN, else the "
        "host's operator",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="machine-readable output")
    chosen = chosen_command(sys.argv[1:] if argv is None else argv)
    built = False
    for name, (_, help_, takes_json) in COMMANDS.items():
        if name == chosen and name in SELF_BUILT:
            if not built:
                module, adder = SELF_BUILT[name]
                group = importlib.import_module(f"linkage.interfaces.cli.{module}")
                getattr(group, adder)(sub, json_flag)
                built = True
            continue
        if chosen in SELF_BUILT and SELF_BUILT.get(name) == SELF_BUILT[chosen]:
            continue  # built above, with its sibling
        p = sub.add_parser(name, help=help_, parents=[json_flag] if takes_json else [])
        if name == chosen:
            _group(name).add_arguments(name, p)
    return parser


def run(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["act"]:
        from linkage.interfaces.cli.act_options import action_help, help_requested

        if (action := help_requested(argv)) is not None:
            from linkage.interfaces.cli.common import parse_actor

            print(action_help(action, parse_actor), end="")
            return 0
    args = build_parser(argv).parse_args(argv)
    try:
        return _group(args.command).run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        message = failure(err)
        if message is None:
            raise
        print(f"linkage: {message}", file=sys.stderr)
        return 1


def _loaded(module: str, name: str):
    """A class of a module the command has loaded already; None when it has not (so no error
    of it can have been raised, and checking for one costs no import)."""
    found = sys.modules.get(module)
    return getattr(found, name, None) if found is not None else None


def failure(err: Exception) -> str | None:
    """What a person reads for an error that ends a command; None for a bug (raised)."""
    for module, name, how in (
        ("linkage.client.errors", "LinkageError", "{}"),
        ("linkage.settings.config", "ConfigError", "{}"),
        ("linkage.trust.tokens", "Unauthenticated", "not signed in: {}"),
        ("linkage.trust.tokens", "Forbidden", "refused: {}"),
    ):
        kind = _loaded(module, name)
        if kind is not None and isinstance(err, kind):
            return how.format(err)
    timeout = _loaded("temporalio.client", "WorkflowUpdateRPCTimeoutOrCancelledError")
    if timeout is not None and isinstance(err, timeout):
        return (
            "no answer from the incident in time: is a worker running "
            "(linkage up, or linkage worker)?"
        )
    rpc = _loaded("temporalio.service", "RPCError")
    if rpc is not None and isinstance(err, rpc):
        from linkage.interfaces.cli.common import rpc_failure

        return rpc_failure(err)
    sql = _loaded("sqlalchemy.exc", "SQLAlchemyError")
    if sql is not None and isinstance(err, sql):
        return (
            f"the records database is not available: {type(err).__name__}: "
            f"{str(err).splitlines()[0]}"
        )
    return None


def main() -> None:
    """The `linkage` entry point.

    It leaves with os._exit once output is flushed: the Temporal client's native threads can
    abort CPython's interpreter teardown in a short-lived process (temporalio/sdk-python#300).
    A reader that stops early (`linkage status ID | head`) ends the command quietly, with the
    code a Unix tool killed by SIGPIPE has.
    """
    try:
        code = run()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # what is still buffered goes nowhere
        code = 128 + signal.SIGPIPE
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
