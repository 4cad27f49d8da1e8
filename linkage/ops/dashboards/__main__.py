"""`python -m linkage.ops.dashboards --prometheus URL --out DIR [--range 1h] [--screenshot]`:
each dashboard of temporal-config/monitoring/dashboards/ as DIR/<name>.html (and .png)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from linkage.ops.dashboards.page import write
from linkage.ops.dashboards.source import Prometheus, seconds
from linkage.settings.paths import PROJECT_ROOT

DASHBOARDS = PROJECT_ROOT / "temporal-config" / "monitoring" / "dashboards"


def render_all(
    prometheus: str,
    out: Path,
    *,
    range_seconds: float,
    end: float | None = None,
    shots: bool = False,
    boards: list[Path] | None = None,
) -> list[Path]:
    """Every dashboard rendered into `out`; the HTML files, and the PNGs after them if asked."""
    source = Prometheus(prometheus)
    end = time.time() if end is None else end  # one moment for every page
    made = []
    for board in boards or sorted(DASHBOARDS.glob("*.json")):
        page = write(board, source, out, range_seconds=range_seconds, end=end)
        made.append(page.path)
        if shots:
            from linkage.ops.dashboards.screenshot import screenshot

            made.append(screenshot(page))
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m linkage.ops.dashboards", description=__doc__)
    parser.add_argument("--prometheus", required=True, help="its base URL, http://host:9090")
    parser.add_argument("--out", required=True, type=Path, help="the folder for the pages")
    parser.add_argument("--range", default="1h", help="how far back: 15m, 1h, 24h (1h)")
    parser.add_argument("--end", type=float, help="the last moment shown, Unix time (now)")
    parser.add_argument("--screenshot", action="store_true", help="a PNG of each, by Chromium")
    parser.add_argument(
        "--dashboard", type=Path, action="append", help="a dashboard file (all of them)"
    )
    args = parser.parse_args(argv)
    try:
        range_seconds = seconds(args.range)
    except ValueError as err:
        parser.error(str(err))
    made = render_all(
        args.prometheus,
        args.out,
        range_seconds=range_seconds,
        end=args.end,
        shots=args.screenshot,
        boards=args.dashboard,
    )
    for path in made:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
