"""Shared pieces of the dashboard tests: a frozen clock, fixed data (and the fixtures `filled` and
`check`), a small catalogue, reading the screen as text."""

from __future__ import annotations

import atexit
import io
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from sfa.domain import dates
from sfa.domain.entities import CONTACT
from sfa.services import configurator, crm, documents, encyclopedia, products
from sfa.store.workspace import Workspace
from sfa.tui import sample

# A Monday morning; every date in the fixture is relative to it.
FROZEN = datetime(2026, 3, 16, 7, 30, tzinfo=UTC)


def freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    """UTC as the local zone, and the store's clock (timeline stamps) stopped at FROZEN."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr("sfa.domain.dates.utc_now", lambda: FROZEN)
    # the quote services read "today" themselves (validity, numbering, the expired state)
    monkeypatch.setattr("sfa.services.quotes.local_today", lambda now=None: FROZEN.date())
    monkeypatch.setattr("sfa.services.quotes.utc_now", lambda: FROZEN)
    # the forecast starts at the current period
    monkeypatch.setattr("sfa.services.reports.local_today", lambda now=None: FROZEN.date())


def load_fixture(home: Path, today: date | None = None) -> None:
    """The fixed sample, dated relative to FROZEN (or to `today`, for a process with the real clock).
    Into an empty home it is copied from the first one this worker built for that day and clock
    (frozen or not): the same rows, ids and stamps included, for a hundredth of the cost (loading
    it is ~0.2 s of CPU, and most dashboard tests start from it)."""
    day = today or FROZEN.date()
    key = (day, dates.utc_now() == FROZEN)
    empty = not any(home.iterdir())
    template = _FIXTURES.get(key)
    if template is not None and empty:
        for item in template.iterdir():
            shutil.copy2(item, home / item.name)
        return
    _load_fixture(home, day)
    files = list(home.iterdir())
    if empty and all(p.is_file() and not p.name.endswith(("-wal", "-shm")) for p in files):
        copy = Path(tempfile.mkdtemp(prefix="sfa-fixture-"))
        atexit.register(shutil.rmtree, copy, True)
        for item in files:
            shutil.copy2(item, copy / item.name)
        _FIXTURES[key] = copy


_FIXTURES: dict[tuple[date, bool], Path] = {}


def _load_fixture(home: Path, today: date) -> None:
    ws = Workspace(home)
    ws.store.replica_id = "fixture-replica"  # fixed quote numbers (their replica code comes from it)
    ws.config.set("owner", "rep")  # not the login name of whoever runs the tests
    try:
        sample.load(ws, today=today, now=FROZEN)
    finally:
        ws.close()


def add_catalogue(ws: Workspace, tmp: Path) -> None:
    """Two actuators with specs (one configurable, with a datasheet)."""
    products.add_product(
        ws, {"name": "Actuator 600", "sku": "LA-600", "unit_price": "480", "family": "Linear"}
    )
    products.add_product(
        ws, {"name": "Actuator 450", "sku": "LA-450", "unit_price": "430", "family": "Linear"}
    )
    for sku, stroke in (("LA-600", "600"), ("LA-450", "450")):
        encyclopedia.set_spec(ws, sku, "Stroke", stroke, "mm")
        encyclopedia.set_spec(ws, sku, "Voltage", "24V")
    sheet = tmp / "la600.pdf"
    sheet.write_bytes(b"%PDF-1.4 sheet")
    documents.add(ws, str(sheet), "product", "LA-600", kind="datasheet", title="LA-600 datasheet")
    for attribute, value, extra, default in (
        ("Voltage", "24V", "0", True),
        ("Voltage", "230V", "35", False),
        ("Housing", "Plastic", "0", False),
        ("Housing", "Steel", "60", False),
    ):
        configurator.add_option(
            ws, "LA-600", attribute=attribute, value=value, extra=extra, default=default, required=True
        )
    configurator.add_rule(
        ws,
        "LA-600",
        when=["Voltage=230V"],
        exclude="Housing=Plastic",
        message="mains needs the steel housing",
    )


def load_shop(home: Path, tmp: Path) -> None:
    """The fixed sample plus the catalogue (add_catalogue) and a pair of duplicate contacts."""
    load_fixture(home)
    ws = Workspace(home)
    try:
        add_catalogue(ws, tmp)
        account = crm.list_accounts(ws, limit=1)[0]
        for name, phone in (("Jane Doe", None), ("Doe, Jane", "+49 30 1111")):
            ws.store.insert(
                CONTACT,
                {"name": name, "email": "jane@dupes.example", "phone": phone, "account_id": account["id"]},
            )
            time.sleep(0.002)  # ids are time-ordered by the millisecond: the scan's order is fixed
    finally:
        ws.close()


@pytest.fixture
def filled(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixed sample at the frozen clock (imported as `from tests.tui_support import filled as filled`)."""
    freeze(monkeypatch)
    load_fixture(home)
    return home


@pytest.fixture
def check(home: Path) -> Iterator[Workspace]:
    """A second workspace on the same home, to check what the dashboard wrote through the services."""
    ws = Workspace(home)
    yield ws
    ws.close()


def screen_text(app: Any) -> str:
    """What the terminal shows, as plain text."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def shows(pilot: Any, text: str, tries: int = 100) -> bool:
    """Whether `text` appears on screen once the app has caught up with the keys pressed (a loaded
    machine may need several rounds of the event loop; this waits for the screen, it times nothing)."""
    for _ in range(tries):
        await pilot.pause()
        if text in screen_text(pilot.app):
            return True
    return False


def drain_between_keys(monkeypatch: pytest.MonkeyPatch, pilot: Any) -> None:
    """Pilot's `press` waits after every key until the process has been idle for a 20 ms slice of
    wall-clock time, twice: for thousands of keys that is minutes of sleeping. Instead, wait until
    the app and every widget of the screen have handled what was queued (twice, so a key the app
    forwards to the focused widget is handled too). Deeper cascades may still be running when the
    next key arrives, as when a rep types fast; timers fire as they come due. For the fuzz tests,
    whose checks do not depend on the moment a key's effects land."""

    async def drained(min_sleep: float = 0.0, max_sleep: float = 1.0) -> None:
        for _ in range(2):
            await pilot._wait_for_screen()

    monkeypatch.setattr("textual.app.wait_for_idle", drained)


async def until(pilot: Any, check: Callable[[], bool], tries: int = 100) -> bool:
    """Whether `check()` holds once the app has caught up (pausing between tries, as `shows` does):
    for effects that land after a thread or a later message, on a loaded machine."""
    for _ in range(tries):
        if check():
            return True
        await pilot.pause()
    return check()
