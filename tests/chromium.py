"""Real headless Chromium (Debian's chromium + chromedriver) for tests, driven by Selenium.

    pytestmark = [pytest.mark.browser, needs_chromium]

    with chromium(tmp_path) as driver:
        driver.get(page.as_uri())

`cdp(driver, "Emulation.setCPUThrottlingRate", rate=4)` sends a DevTools command.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="Debian's chromium/chromedriver not installed (/usr/bin)",
)


@contextmanager
def chromium(profile: Path, *, width: int = 412, height: int = 900) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--window-size={width},{height}", f"--user-data-dir={profile}"):  # fmt: skip
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver: Any) -> list[str]:
    """Severe console messages, but not failed loads of remote URLs (no network in tests)."""
    return [e["message"] for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and "net::ERR" not in e["message"]]  # fmt: skip


def cdp(driver: Any, command: str, **params: Any) -> Any:
    return driver.execute_cdp_cmd(command, params)
