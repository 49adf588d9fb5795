"""A Hypothesis state machine over three replicas in two teams and the server, in-process (the FastAPI
app over SQLite in a temporary directory, reached through an httpx transport; tests/sync/inprocess.py).

Rules: adds, edits of the same few fields with few values (so writes collide), deletes racing edits,
lead conversions, quotes created, sent and revised offline on different replicas, owner/team moves in
and out of scope, conflicts resolved (the same one possibly on two replicas, differently), and syncs in
any order, some with the answer lost after the server applied the
request, some with the request delivered twice. After a final sync of all, the invariants:
- every replica equals the server within its scope (its user's view of the server's records and
  conflicts);
- no id twice (on the server, on a replica);
- no acknowledged write lost: every value the server acknowledged is the field's final value, or is
  kept in a conflict record, or was overwritten by a later write, or its record was deleted;
- quote numbers unique (number and revision) on the server.
Taskchampion's proptest of its sync is the model. Shrinking is on; `SFA_STATEFUL_EXAMPLES` and
`SFA_STATEFUL_STEPS` run it longer.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule
from inprocess import InProcessServer

from sfa.domain.entities import ENTITIES, Entity
from sfa.domain.errors import SfaError, UnreachableError
from sfa.server.merge import User, visible
from sfa.services import leads, quotes, syncing
from sfa.store import codec
from sfa.store.replica import Replica
from sfa.store.workspace import Workspace
from sfa.sync import engine

EXAMPLES = int(os.environ.get("SFA_STATEFUL_EXAMPLES", "200"))
STEPS = int(os.environ.get("SFA_STATEFUL_STEPS", "25"))

USERS = (("ana", "rep", "north"), ("mia", "manager", "north"), ("sam", "manager", "south"))
SCOPES = (("ana", "north"), ("mia", "north"), ("sam", "south"))
WORDS = ("alpha", "bravo", "delta")
EDITS: dict[str, dict[str, tuple[Any, ...]]] = {  # entity -> field -> values a random edit writes
    "account": {"city": ("Berlin", "Bonn", None), "name": WORDS},
    "contact": {"phone": ("+49 1", "+49 2"), "name": WORDS},
    "opportunity": {"amount": (Decimal("10.50"), Decimal(7)), "stage": ("prospect", "won"), "name": WORDS},
    "lead": {"company": WORDS, "notes": ("hot", "cold")},
}
MOVABLE = ("account", "contact", "opportunity", "lead")
lap_ids = st.integers(0, len(USERS) - 1)
picks = st.integers(0, 1000)


@functools.cache
def _templates() -> Path:
    """A server with the three users and three logged-in replicas, made once, copied per example."""
    root = Path(tempfile.mkdtemp(prefix="sfa-stateful-"))
    (root / "server").mkdir()
    server = InProcessServer(root / "server")
    laps = [Workspace(root / name) for name, _, _ in USERS]
    try:
        conns = [server.login(ws, server.add_user(*user)) for ws, user in zip(laps, USERS, strict=True)]
        # Records every replica shares from the start (sam's team sees only its own), so that the
        # first steps of an example can already collide.
        for ws in laps:
            scope = {"owner": ws.owner, "team": ws.team}
            account = ws.store.insert(ENTITIES["account"], {"name": "Acme", "city": "Bonn", **scope})
            contact = ws.store.insert(
                ENTITIES["contact"], {"name": "Jo", "account_id": account["id"], **scope}
            )
            ws.store.insert(
                ENTITIES["opportunity"],
                {
                    "name": "Deal",
                    "account_id": account["id"],
                    "contact_id": contact["id"],
                    "stage": "prospect",
                    "amount": Decimal(100),
                    "currency": "EUR",
                    **scope,
                },
            )
            ws.store.insert(
                ENTITIES["lead"], {"name": "Lee", "company": f"{ws.owner} AG", "status": "new", **scope}
            )
            quotes.new_quote(ws, account_ref=account["id"])
        for _ in range(2):
            for ws, conn in zip(laps, conns, strict=True):
                engine.sync_once(ws, conn=conn)
        # And two open conflicts (a descriptive field, a money field) for the resolve rule.
        ana, mia = laps[0], laps[1]
        account = ana.store.select(ENTITIES["account"], "owner = 'ana'")[0]
        opp = ana.store.select(ENTITIES["opportunity"], "owner = 'ana'")[0]
        for ws, city, amount in ((ana, "Köln", Decimal(200)), (mia, "Ulm", Decimal(300))):
            ws.store.update(ENTITIES["account"], account["id"], {"city": city})
            ws.store.update(ENTITIES["opportunity"], opp["id"], {"amount": amount})
        for _ in range(2):
            for ws, conn in zip(laps, conns, strict=True):
                engine.sync_once(ws, conn=conn)
        assert len(Replica(mia.store).conflicts()) == 2
    finally:
        for ws in laps:
            ws.close()
        server.close()
    return root


def norm(entity: Entity, name: str, value: Any) -> Any:
    spec = entity.by_name[name]
    return codec.dumps(codec.to_wire(spec, codec.from_wire(spec, value)))


@dataclass
class Write:
    lap: int
    seq: int
    entity: str
    id: str
    field: str
    value: Any
    clock: str


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="sfa-example-"))
        shutil.copytree(_templates(), self.dir, dirs_exist_ok=True)
        self.env = {k: os.environ.get(k) for k in ("SFA_SYNC_BATCH", "SFA_SYNC_PAGE")}
        os.environ.update(SFA_SYNC_BATCH="3", SFA_SYNC_PAGE="4")  # several pushes and pages a round
        self.server = InProcessServer(self.dir / "server", fresh=False)
        self.laps = [Workspace(self.dir / name) for name, _, _ in USERS]
        self.conns = [
            self.server.connect(engine.load_token(ws.home)) for ws in self.laps
        ]  # no retries: a lost answer ends the round, as a cut connection would
        self.sent: dict[tuple[int, int], list[Write]] = {}  # (lap, outbox seq) -> its writes
        self.acked: list[Write] = []
        self.rejected: set[tuple[int, int]] = set()
        self.resolved: set[str] = set()  # conflict ids resolved on some replica

    # -- helpers -----------------------------------------------------------------------------
    def pick(self, lap: int, entity: str, n: int, where: str = "", params: tuple[Any, ...] = ()) -> Any:
        rows = self.laps[lap].store.select(ENTITIES[entity], where or None, params, order="id")
        return rows[n % len(rows)] if rows else None

    def sync(self, lap: int) -> None:
        ws = self.laps[lap]
        for row in ws.store.outbox():
            entity = ENTITIES.get(row["entity"])
            if entity is None:
                continue  # a conflict's resolution
            self.sent.setdefault(
                (lap, row["seq"]),
                [
                    Write(
                        lap,
                        row["seq"],
                        row["entity"],
                        row["record_id"],
                        name,
                        norm(entity, name, pair[0]),
                        pair[1],
                    )
                    for name, pair in row["fields"].items()
                ],
            )
        try:
            engine.sync_once(ws, conn=self.conns[lap])
        finally:
            waiting = {row["seq"] for row in ws.store.outbox()}
            rejected = {row["seq"] for row in Replica(ws.store).rejected()}
            for key in [k for k in self.sent if k[0] == lap and k[1] not in waiting]:
                if key[1] in rejected:
                    self.rejected.add(key)
                else:
                    self.acked.extend(self.sent[key])
                del self.sent[key]

    # -- rules -------------------------------------------------------------------------------
    @rule(lap=lap_ids, word=st.sampled_from(WORDS), city=st.sampled_from(("Berlin", "Bonn")))
    def add_account(self, lap: int, word: str, city: str) -> None:
        ws = self.laps[lap]
        ws.store.insert(ENTITIES["account"], {"name": word, "city": city, "owner": ws.owner, "team": ws.team})

    @rule(lap=lap_ids, n=picks, word=st.sampled_from(WORDS))
    def add_contact_and_opportunity(self, lap: int, n: int, word: str) -> None:
        ws = self.laps[lap]
        account = self.pick(lap, "account", n)
        if account is None:
            return
        scope = {"owner": ws.owner, "team": ws.team}
        contact = ws.store.insert(ENTITIES["contact"], {"name": word, "account_id": account["id"], **scope})
        ws.store.insert(
            ENTITIES["opportunity"],
            {
                "name": word,
                "account_id": account["id"],
                "contact_id": contact["id"],
                "stage": "prospect",
                "amount": Decimal(100),
                "currency": "EUR",
                **scope,
            },
        )

    @rule(lap=lap_ids, word=st.sampled_from(WORDS))
    def add_lead(self, lap: int, word: str) -> None:
        ws = self.laps[lap]
        ws.store.insert(
            ENTITIES["lead"],
            {
                "name": f"Lee {word}",
                "company": f"{word} GmbH",
                "status": "new",
                "owner": ws.owner,
                "team": ws.team,
            },
        )

    @rule(lap=lap_ids, entity=st.sampled_from(sorted(EDITS)), n=picks, data=st.data())
    def edit(self, lap: int, entity: str, n: int, data: st.DataObject) -> None:
        record = self.pick(lap, entity, n)
        if record is None:
            return
        name = data.draw(st.sampled_from(sorted(EDITS[entity])))
        value = data.draw(st.sampled_from(EDITS[entity][name]))
        self.laps[lap].store.update(ENTITIES[entity], record["id"], {name: value})

    @rule(lap=lap_ids, entity=st.sampled_from(sorted(EDITS)), n=picks)
    def delete(self, lap: int, entity: str, n: int) -> None:
        record = self.pick(lap, entity, n)
        if record is not None:
            self.laps[lap].store.delete(ENTITIES[entity], record["id"])

    @rule(lap=lap_ids, entity=st.sampled_from(MOVABLE), n=picks, to=st.sampled_from(SCOPES))
    def move(self, lap: int, entity: str, n: int, to: tuple[str, str]) -> None:
        record = self.pick(lap, entity, n)
        if record is not None:
            self.laps[lap].store.update(ENTITIES[entity], record["id"], {"owner": to[0], "team": to[1]})

    @rule(lap=lap_ids, n=picks, deal=st.booleans())
    def convert_lead(self, lap: int, n: int, deal: bool) -> None:
        lead = self.pick(lap, "lead", n, "status NOT IN ('converted', 'disqualified')")
        if lead is not None:
            with contextlib.suppress(SfaError):
                leads.convert(self.laps[lap], lead["id"], opportunity="Deal" if deal else None)

    @rule(lap=lap_ids, n=picks)
    def new_quote(self, lap: int, n: int) -> None:
        account = self.pick(lap, "account", n)
        if account is not None:
            quotes.new_quote(self.laps[lap], account_ref=account["id"])

    @rule(lap=lap_ids, n=picks)
    def send_and_revise_quote(self, lap: int, n: int) -> None:
        quote = self.pick(lap, "quote", n)
        if quote is None:
            return
        ws = self.laps[lap]
        with contextlib.suppress(SfaError):
            if quote["status"] == "draft":
                quotes.send(ws, quote["id"])
            quotes.revise(ws, quote["id"])

    @rule(lap=lap_ids, n=picks, choice=st.sampled_from(("ours", "theirs")))
    def resolve_conflict(self, lap: int, n: int, choice: str) -> None:
        # Any open conflict this replica has, also one another replica has resolved (differently,
        # maybe) and not yet synced: the issue on server validation reports that such replicas end
        # different; this test has not reproduced that so far (see docs/sync-protocol.md).
        open_ = Replica(self.laps[lap].store).conflicts()
        if not open_:
            return
        conflict = open_[n % len(open_)]
        self.resolved.add(conflict["id"])
        with contextlib.suppress(SfaError):
            syncing.resolve(self.laps[lap], conflict["id"], choice)

    @rule(
        lap=lap_ids,
        fault=st.sampled_from((None, "lose", "repeat")),
        path=st.sampled_from(("/v1/push", "/v1/pull")),
    )
    def sync_now(self, lap: int, fault: str | None, path: str) -> None:
        transport = self.server.transport
        if fault == "lose":
            transport.lose_next(path)
        elif fault == "repeat":
            transport.repeat_next(path)
        try:
            with contextlib.suppress(UnreachableError):
                self.sync(lap)
        finally:
            transport.lose.clear()
            transport.repeat.clear()

    # -- the end -----------------------------------------------------------------------------
    def teardown(self) -> None:
        try:
            for _ in range(2):
                for lap in range(len(self.laps)):
                    self.sync(lap)
            self.check()
        finally:
            for ws in self.laps:
                ws.close()
            self.server.close()
            for key, value in self.env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            shutil.rmtree(self.dir, ignore_errors=True)

    def check(self) -> None:
        rows = self.server.query("SELECT entity, id, fields, owner, team FROM record")
        ids = [r[1] for r in rows]
        assert len(ids) == len(set(ids)), "an id twice on the server"
        server = {(r[0], r[1]): json.loads(r[2]) for r in rows}
        conflicts = [{k: v[0] for k, v in f.items()} for (e, _), f in server.items() if e == "_conflict"]
        # Every replica equals the server within its scope.
        for lap, (name, role, team) in enumerate(USERS):
            user = User(name, role, team)
            expected = {
                (r[0], r[1]): {k: v[0] for k, v in json.loads(r[2]).items()}
                for r in rows
                if r[0] != "_conflict" and visible(user, r[3], r[4])
            }
            local = self.local(lap)
            rejected_ids = {row["record_id"] for row in Replica(self.laps[lap].store).rejected()}
            for key in set(local) - set(expected):
                assert key[1] in rejected_ids, f"{name} has {key}, which the server does not show it"
            for key, values in expected.items():
                entity = ENTITIES[key[0]]
                want = {f.name: norm(entity, f.name, values.get(f.name)) for f in entity.fields}
                assert local.get(key) == want, f"{name} differs from the server on {key}"
            # Conflicts too: the same ones, in the same state, as the server's the user can see.
            seen = {
                r[1]: json.loads(r[2])["status"][0]
                for r in rows
                if r[0] == "_conflict" and visible(user, r[3], r[4])
            }
            mine = {
                c["id"]: c["status"] for c in Replica(self.laps[lap].store).conflicts(include_resolved=True)
            }
            assert mine == seen, f"{name}'s conflicts differ from the server's"
        # No acknowledged write lost.
        newest: dict[tuple[str, str], str] = {}
        for write in self.acked:
            key = (write.id, write.field)
            newest[key] = max(newest.get(key, ""), write.clock)
        kept = {
            (c["record_id"], c["field"], norm(ENTITIES[c["entity"]], c["field"], c[side]))
            for c in conflicts
            for side in ("kept", "lost")
        }
        for write in self.acked:
            fields = server.get((write.entity, write.id))
            assert fields is not None, f"acknowledged create lost: {write}"
            entity = ENTITIES[write.entity]
            final = norm(entity, write.field, fields.get(write.field, [None])[0])
            if final == write.value or fields.get("deleted", [False])[0] is True:
                continue
            if (write.id, write.field, write.value) in kept:
                continue
            assert newest[(write.id, write.field)] > write.clock, f"acknowledged write lost: {write}"
        # What the example exercised: pytest --hypothesis-show-statistics lists these.
        event("with conflicts" if conflicts else "no conflict")
        event("with rejections" if self.rejected else "no rejection")
        event("with a resolution" if self.resolved else "no resolution")
        # Quote numbers unique.
        numbers = [
            (f["number"][0], f.get("revision", [None])[0])
            for (e, _), f in server.items()
            if e == "quote" and f.get("deleted", [False])[0] is not True
        ]
        assert len(numbers) == len(set(numbers)), f"a quote number twice: {sorted(numbers)}"

    def local(self, lap: int) -> dict[tuple[str, str], dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        store = self.laps[lap].store
        for entity in ENTITIES.values():
            for record in store.select(entity, include_deleted=True):
                key = (entity.name, record["id"])
                assert key not in found, f"id twice on a replica: {key}"
                found[key] = {
                    f.name: norm(entity, f.name, codec.to_wire(f, record[f.name])) for f in entity.fields
                }
        all_ids = [k[1] for k in found]
        assert len(all_ids) == len(set(all_ids)), "an id twice on a replica"
        return found


SyncMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestSyncStateMachine = SyncMachine.TestCase
