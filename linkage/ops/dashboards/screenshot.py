"""A PNG of a rendered page, taken by headless Chromium (Debian's `chromium`, which
scripts/test-services installs with the CJK fonts), the window as large as the whole page."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from linkage.ops.dashboards.page import Page

TIMEOUT = 120


def browser() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Page, png: Path | None = None) -> Path:
    """`page` as a PNG beside it (or at `png`)."""
    found = browser()
    if not found:
        raise RuntimeError("no chromium on PATH (bash scripts/test-services installs it)")
    png = png or page.path.with_suffix(".png")
    with tempfile.TemporaryDirectory(prefix="linkage-shot-") as profile:
        done = subprocess.run(
            [
                found,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                f"--user-data-dir={profile}",
                f"--window-size={page.width},{page.height}",
                f"--screenshot={png}",
                page.path.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    if done.returncode != 0 or not png.exists():
        raise RuntimeError(f"chromium could not take {png}: {done.stderr.strip()[-500:]}")
    return png
