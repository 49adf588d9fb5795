"""`sfa sync --watch` takes this week's forecast snapshot on Mondays (issue 16 §2): once per user and
week, after a round that reached the server, and the snapshot syncs like any record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcessServer
from test_sync_policy import _laptop

from sfa.domain.entities import FORECAST_SNAPSHOT
from sfa.services import forecasting, syncing
from sfa.store.workspace import Workspace
from sfa.sync import engine
from tests.conftest import run_sfa

MONDAY, TUESDAY = date(2026, 11, 30), date(2026, 12, 1)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    (tmp_path / "server").mkdir()
    srv = InProcessServer(tmp_path / "server")
    yield srv
    srv.close()


def _watch_one_round(ws: Workspace, day: date) -> list[Any]:
    seen: list[Any] = []
    syncing.watch(ws, 0.01, seen.append, stop=lambda: len(seen) >= 1, today=lambda: day)
    return seen


def test_watch_snapshots_on_monday_once(
    tmp_path: Path, server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = engine.Connection
    monkeypatch.setattr(
        engine,
        "Connection",
        lambda url, token, **kw: real(url, token, **{**kw, "transport": server.transport}),
    )
    home = _laptop(tmp_path, server, "ana", "rep", "north")
    run_sfa(home, "config", "set", "owner", "ana")
    acme = run_sfa(home, "account", "add", "Acme", "-q").out.strip()
    made = run_sfa(
        home, "opp", "add", "Deal", "--account", acme, "--amount", "900", "--close-date", "2026-12-15"
    )
    assert made.code == 0, made.err
    ws = Workspace(home)
    try:
        [outcome] = _watch_one_round(ws, TUESDAY)
        assert not isinstance(outcome, Exception), outcome
        assert ws.store.count(FORECAST_SNAPSHOT) == 0  # not a Monday
        [outcome] = _watch_one_round(ws, MONDAY)
        assert not isinstance(outcome, Exception), outcome
        [snap] = ws.store.select(FORECAST_SNAPSHOT)
        assert (snap["subject_kind"], snap["subject"], snap["week"]) == ("owner", "ana", "2026-W49")
        assert snap["id"] == forecasting.snapshot_id("owner", "ana", "2026-Q4", "2026-W49")
        assert snap["pipeline"] == 900
        _watch_one_round(ws, MONDAY)  # the next round pushes it; no second snapshot
        assert ws.store.count(FORECAST_SNAPSHOT) == 1
    finally:
        ws.close()
    stored = server.query(f"SELECT count(*) FROM record WHERE id = '{snap['id']}'")
    assert stored == [(1,)]
