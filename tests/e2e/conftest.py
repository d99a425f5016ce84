import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# Screenshots go to the tests' output folder (tests/output/screenshots/, not tracked), so a
# test run never rewrites the repository. MODELPULSE_SHOTS=docs/img refreshes the README's
# pictures; MODELPULSE_SHOTS_FULL=1 takes whole pages, to review a layout below the fold.
SHOTS = Path(os.environ.get("MODELPULSE_SHOTS") or
             Path(__file__).resolve().parents[1] / "output" / "screenshots")
FULL_PAGE = bool(os.environ.get("MODELPULSE_SHOTS_FULL"))

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
# test itself between page actions are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium is required for browser tests: apt-get install -y chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    # Clipboard permissions let a test read back what a copy button copied.
    context = browser.new_context(viewport={"width": 1360, "height": 860},
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    yield page
    context.close()


@pytest.fixture
def shot():
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=FULL_PAGE)
    return take
