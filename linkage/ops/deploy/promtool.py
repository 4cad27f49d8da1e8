"""promtool, Prometheus' checker, for the alerting rules, their unit tests and the scrape
config in `temporal-config/monitoring/`.

No prebuilt binary may be downloaded, so promtool is built like helm: from its Go module through
the module proxy, pinned, once, into the tools folder (`tools.tool`). Prometheus publishes its
Go module as v0.3XX.Y for release 3.XX.Y (v0.316.0 is Prometheus 3.16.0), and that go.mod has
no replace directives, so a plain `go install …/cmd/promtool@v0.316.0` works; were one added,
`go install pkg@version` would refuse it, and the way round is a throwaway module whose go.mod
requires prometheus at the pin, built there with `go build`. Cold (toolchain, modules and build
cache all empty) it took 15 minutes on 2 busy cores: promtool links every service discovery's
cloud SDK. Afterwards it is a file in the tools folder.

    python -m linkage.ops.deploy.promtool check-rules|test-rules|check-config FILE
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from linkage.ops.deploy.tools import tool
from linkage.settings.paths import PROJECT_ROOT

PROMTOOL = ("promtool", "github.com/prometheus/prometheus/cmd/promtool", "v0.316.0")
MONITORING = PROJECT_ROOT / "temporal-config" / "monitoring"
TIMEOUT = 300


class PromtoolFailed(Exception):
    """promtool refused a file; the message carries promtool's own words."""


def promtool() -> Path:
    return tool(*PROMTOOL)


def _run(*args: object) -> subprocess.CompletedProcess:
    command = [str(promtool()), *(str(a) for a in args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    if done.returncode != 0:
        said = "\n".join(text.strip() for text in (done.stdout, done.stderr) if text.strip())
        raise PromtoolFailed(f"promtool {' '.join(command[1:])}: {said}")
    return done


def check_rules(path: Path | str) -> subprocess.CompletedProcess:
    """`promtool check rules --lint=all --lint-fatal`: a duplicate rule fails too."""
    return _run("check", "rules", "--lint=all", "--lint-fatal", path)


def test_rules(path: Path | str) -> subprocess.CompletedProcess:
    """`promtool test rules`, the rule files named relative to the test file."""
    return _run("test", "rules", path)


def check_config(path: Path | str) -> subprocess.CompletedProcess:
    """`promtool check config`, which checks the rule files it names as well."""
    return _run("check", "config", "--lint=all", "--lint-fatal", path)


def main(argv: list[str]) -> int:
    checks = {"check-rules": check_rules, "test-rules": test_rules, "check-config": check_config}
    if len(argv) != 2 or argv[0] not in checks:
        print(f"usage: python -m linkage.ops.deploy.promtool {'|'.join(checks)} FILE")
        return 2
    try:
        print(checks[argv[0]](argv[1]).stdout.strip())
    except PromtoolFailed as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
