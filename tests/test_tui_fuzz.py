"""Random keys over every dashboard screen against the demo company (`sfa demo`): the app never
raises, and the store is whole afterwards (SQLite's integrity check; every live record's required
fields, choices and references; a quote's lines numbered 1..n; done tasks and logged visits complete).

Seeded, so a failure replays: SFA_TUI_FUZZ_SEED picks the seed, SFA_TUI_FUZZ_KEYS the number of
keys at 80x24 (default 2000; half as many at 120x40: 3000 in all). The palette (ctrl+p, whose Textual commands include Quit) and ctrl+q are left
out: every other key a rep can press is drawn, with text keys weighted so forms get filled in.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

from sfa.domain.entities import ENTITIES, QUOTE, QUOTE_LINE, TASK, VISIT
from sfa.services import demo
from sfa.store.workspace import Workspace
from sfa.tui.app import SfaApp
from tests.tui_support import FROZEN, drain_between_keys, freeze

pytestmark = pytest.mark.asyncio

SCREEN_KEYS = list("123456789")
ACTION_KEYS = [
    *"nedwxsvpqlcartumozEDGgjkhy",
    "less_than_sign",
    "greater_than_sign",
    "plus",
    "minus",
    "left_square_bracket",
    "right_square_bracket",
    "comma",
    "full_stop",
    "slash",
    "question_mark",
    "delete",
]
MOVE_KEYS = [
    "enter",
    "escape",
    "tab",
    "shift+tab",
    "up",
    "down",
    "left",
    "right",
    "ctrl+s",
    "backspace",
    "ctrl+u",
]
TEXT_KEYS = [*"abcdefghijklmnopqrstuvwxyz0123456789", "space", "full_stop", "minus", "colon", "plus"]


def draw_keys(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    keys: list[str] = []
    while len(keys) < count:
        roll = rng.random()
        if roll < 0.05:
            keys.append(rng.choice(SCREEN_KEYS))
        elif roll < 0.40:
            keys.append(rng.choice(ACTION_KEYS))
        elif roll < 0.70:
            keys.append(rng.choice(MOVE_KEYS))
        else:
            keys.extend(rng.choice(TEXT_KEYS) for _ in range(rng.randint(1, 6)))
    return keys[:count]


def points_somewhere(ws: Workspace, entity_name: str, record_id: Any) -> bool:
    """A reference names a record that exists (a deleted one counts: its tombstone is kept)."""
    return bool(ws.store.select(ENTITIES[entity_name], "id = ?", (record_id,), include_deleted=True))


def integrity_problems(ws: Workspace) -> list[str]:
    problems: list[str] = []
    result = ws.store.conn.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        problems.append(f"sqlite: {result}")
    for entity in ENTITIES.values():
        for record in ws.store.select(entity):
            for field in entity.fields:
                value = record.get(field.name)
                if field.required and value in (None, "", []):
                    problems.append(f"{entity.name} {record['id']}: {field.name} empty")
                if field.choices and value is not None and value not in field.choices:
                    problems.append(f"{entity.name} {record['id']}: {field.name}={value!r}")
                if field.kind == "ref" and field.ref and value and not points_somewhere(ws, field.ref, value):
                    problems.append(f"{entity.name} {record['id']}: {field.name} points nowhere")
    for quote in ws.store.select(QUOTE):
        positions = [line["position"] for line in ws.store.select(QUOTE_LINE, "quote_id = ?", (quote["id"],))]
        if sorted(positions) != list(range(1, len(positions) + 1)):
            problems.append(f"quote {quote['number']}: line positions {sorted(positions)}")
    for line in ws.store.select(QUOTE_LINE):
        if ws.store.find(QUOTE, line["quote_id"]) is None:
            problems.append(f"quote line {line['id']} of a deleted quote")
    for task in ws.store.select(TASK, "status = 'done' AND done_at IS NULL"):
        problems.append(f"task {task['id']} done without done_at")
    for visit in ws.store.select(VISIT, "status = 'done' AND (outcome IS NULL OR outcome = '')"):
        problems.append(f"visit {visit['id']} done without an outcome")
    return problems


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_random_keys_never_crash_and_leave_the_store_whole(
    home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, size: Any
) -> None:
    freeze(monkeypatch)
    monkeypatch.chdir(tmp_path)  # an export writes where the dashboard was started
    ws = Workspace(home)
    try:
        demo.generate(ws)
        assert integrity_problems(ws) == []
    finally:
        ws.close()
    seed = int(os.environ.get("SFA_TUI_FUZZ_SEED", "1311"))
    count = int(os.environ.get("SFA_TUI_FUZZ_KEYS", "2000")) // (1 if size[0] == 80 else 2)
    keys = draw_keys(seed + size[0], count)
    app = SfaApp(home, now=FROZEN, background_sync=False)
    async with app.run_test(size=size) as pilot:
        drain_between_keys(monkeypatch, pilot)
        for start in range(0, len(keys), 20):
            await pilot.press(*keys[start : start + 20])
            await app.workers.wait_for_complete()
            assert app.is_running, f"the app stopped after key {start + 20} (seed {seed})"
    check = Workspace(home)
    try:
        assert integrity_problems(check) == [], f"seed {seed}"
    finally:
        check.close()
