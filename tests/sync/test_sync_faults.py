"""Sync over a flaky network: lost responses, cut connections, killed clients, restores.

Every test runs against the real server process, on SQLite and on PostgreSQL, through the fault proxy.
Numbers in test names refer to the scenarios of issue 4.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from faultproxy import FaultProxy
from synchelp import Laptop, Server, comparable, wait_until

from sfa.domain import ids
from sfa.domain.entities import ACCOUNT


def _accounts(server: Server) -> list[tuple[Any, ...]]:
    return server.query("SELECT id FROM record WHERE entity = 'account'")


def _bulk_accounts(lap: Laptop, count: int, prefix: str = "Acct") -> list[str]:
    ws = lap.workspace()
    try:
        rows = [
            {"name": f"{prefix} {i:05d}", "owner": "ana", "team": "north", "city": "Berlin"}
            for i in range(count)
        ]
        return [r["id"] for r in ws.store.insert_many(ACCOUNT, rows)]
    finally:
        ws.close()


def _outbox(lap: Laptop) -> int:
    with sqlite3.connect(lap.home / "sfa.db") as conn:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def test_01_lost_push_response_creates_exactly_one_record(
    laptop: Any, proxy: FaultProxy, server: Server
) -> None:
    ana, bob = laptop("ana"), laptop("bob")
    ana.ok("account", "add", "Acme", "--phone", "+49 30 1234")
    # The server commits the push, the response never arrives, and the round gives up (no retries).
    proxy.add("/v1/push", "cut_after")
    failed = ana.sync(env={"SFA_SYNC_RETRIES": "0"})
    assert failed.code == 3, failed.err
    assert proxy.faults["cut_after"] == 1
    assert len(_accounts(server)) == 1 and _outbox(ana) == 1  # committed, but not known to be
    # The retry is a no-op on the server and acknowledges the change.
    again = ana.synced()
    assert again["pushed"] == 1 and again["rejected"] == 0
    assert _outbox(ana) == 0
    # Within one round, a lost response is retried transparently.
    ana.ok("account", "add", "Beta")
    proxy.add("/v1/push", "cut_after")
    assert ana.synced()["pushed"] == 1
    assert proxy.faults["cut_after"] == 2
    bob.synced()
    names = sorted(r["name"] for k, r in bob.records().items() if k[0] == "account")
    assert names == ["Acme", "Beta"]
    assert len(_accounts(server)) == 2
    assert comparable(server.records()) == comparable(bob.records()) == comparable(ana.records())


def test_01_cut_before_request_and_truncated_response(laptop: Any, proxy: FaultProxy, server: Server) -> None:
    ana, bob = laptop("ana"), laptop("bob")
    ana.ok("account", "add", "Acme")
    proxy.add("/v1/push", "cut_before")
    proxy.add("/v1/push", "truncate")
    assert ana.synced()["pushed"] == 1
    proxy.add("/v1/pull", "truncate")
    proxy.add("/v1/pull", "cut_before")
    assert bob.synced()["pulled"] == 1
    assert proxy.faults["truncate"] == 2 and proxy.faults["cut_before"] == 2
    assert len(_accounts(server)) == 1
    assert comparable(server.records()) == comparable(bob.records())


def test_10_invalid_mutation_at_head_is_rejected_once(laptop: Any, server: Server) -> None:
    ana = laptop("ana")
    ana.ok("account", "add", "First")  # opens the store
    bad_id = ids.uuid7()
    with sqlite3.connect(ana.home / "sfa.db") as conn:
        # An impossible value, queued before the valid writes (as a buggy older version might).
        conn.execute("DELETE FROM outbox")
        conn.execute(
            "INSERT INTO outbox(entity, record_id, fields, created_at) VALUES ('opportunity', ?, ?, 'now')",
            (bad_id, json.dumps({"amount": ["abc", "0001763875469123:00000:aaaaaaaaaaaaaaaa"]})),
        )
    ana.ok("account", "add", "Second")
    ana.ok("account", "add", "Third")
    first = ana.synced()
    assert first == {**first, "pushed": 2, "rejected": 1}
    listed = ana.ok("sync", "rejected", "--json").json()
    assert len(listed) == 1 and listed[0]["record_id"] == bad_id and "amount" in listed[0]["reason"]
    second = ana.synced()
    assert second["pushed"] == 0 and second["rejected"] == 0
    names = sorted(r["name"] for k, r in server.records().items() if k[0] == "account")
    assert names == ["Second", "Third"]
    text = ana.ok("sync", "rejected")
    assert "amount" in text.out


def test_03_initial_sync_cut_at_70_percent_resumes(laptop: Any, proxy: FaultProxy, server: Server) -> None:
    ana, bob = laptop("ana"), laptop("bob")
    _bulk_accounts(ana, 300)
    assert ana.synced()["pushed"] == 300
    page = {"SFA_SYNC_PAGE": "20", "SFA_SYNC_RETRIES": "1"}
    proxy.add("/v1/pull", "cut_after", skip=10, times=1000)  # 10 of 15 pages arrive, then nothing
    cut = bob.sync(env=page)
    assert cut.code == 3, cut.err
    assert len(bob.records()) == 200
    proxy.clear()
    before = proxy.requests["/v1/pull"]
    resumed = bob.sync(env=page)
    assert resumed.code == 0, resumed.err
    assert resumed.json()["pulled"] == 100  # from where it was, not from the start
    assert proxy.requests["/v1/pull"] - before == 5
    assert comparable(bob.records()) == comparable(server.records())


def test_04_out_of_order_commits_skip_nothing(laptop: Any, proxy: FaultProxy, server: Server) -> None:
    bob = laptop("bob")
    token = server.add_user("writer", "rep", "north")
    url = proxy.url

    def push(record_id: str, delay: float, seq: int) -> None:
        clock = f"{1763875469123 + seq:016d}:00000:{seq:016x}"
        fields = {"name": [f"N{seq}", clock], "owner": ["writer", clock], "team": ["north", clock]}
        mutation = {"seq": 1, "entity": "account", "id": record_id, "fields": fields}
        body = {"protocol": 1, "client_id": f"writer-{seq}", "mutations": [mutation]}
        headers = {"Authorization": f"Bearer {token}", "X-Test-Delay-Commit": str(delay)}
        reply = httpx.post(f"{url}/v1/push", json=body, timeout=60, headers=headers)
        assert reply.status_code == 200, reply.text

    slow_id, fast_id = ids.uuid7(), ids.uuid7()
    slow = threading.Thread(target=push, args=(slow_id, 2.0, 1))
    slow.start()
    fast = threading.Thread(target=push, args=(fast_id, 0.0, 2))
    wait_until(lambda: proxy.requests["/v1/push"] >= 1, 30, "the slow push to reach the server")
    time.sleep(0.3)  # let it take the sequence lock (the assertions hold whatever the interleaving)
    fast.start()
    # Pull while the slow transaction holds its sequence number uncommitted.
    first = bob.synced()
    slow.join(30)
    fast.join(30)
    second = bob.synced()
    got = {k[1] for k in bob.records()}
    assert {slow_id, fast_id} <= got
    assert first["pulled"] + second["pulled"] >= 2
    seqs = [r[0] for r in server.query("SELECT seq FROM change ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))  # gapless, allocated in commit order


def _popen_sync(lap: Laptop, env: dict[str, str]) -> subprocess.Popen[str]:
    full = {**os.environ, "NO_COLOR": "1", **env}
    return subprocess.Popen(
        [sys.executable, "-m", "sfa", "--home", str(lap.home), "sync", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full,
    )


def test_02_sigkill_mid_push_and_mid_pull(laptop: Any, proxy: FaultProxy, server: Server) -> None:
    ana, bob, carl = laptop("ana"), laptop("bob"), laptop("carl")
    _bulk_accounts(ana, 400)
    proxy.latency = 0.4
    proc = _popen_sync(ana, {"SFA_SYNC_BATCH": "50"})
    wait_until(lambda: len(_accounts(server)) >= 100, 60, "two push batches committed")
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert 100 <= len(_accounts(server)) < 400
    proxy.latency = 0.0
    assert ana.synced()["rejected"] == 0
    assert len(_accounts(server)) == 400 and _outbox(ana) == 0
    # Mid-pull.
    proxy.latency = 0.3
    proc = _popen_sync(bob, {"SFA_SYNC_PAGE": "25"})
    proxy.wait_delivered("/v1/pull", 3, 60)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert len(bob.records()) < 400
    proxy.latency = 0.0
    bob.synced()
    carl.synced()  # uninterrupted
    assert comparable(bob.records()) == comparable(carl.records()) == comparable(server.records())
    assert len(bob.records()) == 400


def test_13_two_syncs_at_once_on_one_replica(laptop: Any, proxy: FaultProxy, server: Server) -> None:
    ana = laptop("ana")
    _bulk_accounts(ana, 200)
    proxy.latency = 0.2
    env = {"SFA_SYNC_BATCH": "20"}
    first = _popen_sync(ana, env)
    wait_until(lambda: proxy.requests["/v1/push"] >= 1, 60, "the first sync to start pushing")
    second = _popen_sync(ana, env)  # while the first holds the replica's lock
    outs = [p.communicate(timeout=120) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    pushed = sum(json.loads(out)["pushed"] for out, _ in outs)
    assert pushed == 200
    assert any("waiting for another sync" in err for _, err in outs)
    assert len(_accounts(server)) == 200 and _outbox(ana) == 0


def test_11_watch_syncs_when_the_server_comes_back(
    laptop: Any, proxy: FaultProxy, server: Server, tmp_path: Path
) -> None:
    ana = laptop("ana")
    proxy.refuse()
    ana.ok("account", "add", "Offline Co")
    log = (tmp_path / "watch.err").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sfa", "--home", str(ana.home), "sync", "--watch", "--interval", "1s"],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env={**os.environ, "SFA_SYNC_RETRIES": "0"},
    )
    try:
        wait_until(lambda: "cannot reach" in (tmp_path / "watch.err").read_text(), 30, "a failed round")
        assert len(_accounts(server)) == 0
        proxy.accept()
        wait_until(lambda: len(_accounts(server)) == 1, 30, "the watch to push once the server is back")
        wait_until(lambda: _outbox(ana) == 0, 30, "the outbox to drain")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(20)
        log.close()


def test_12_server_restored_from_older_backup(laptop: Any, server: Server) -> None:
    ana, bob = laptop("ana"), laptop("bob")
    ana.ok("account", "add", "Before Backup")
    ana.synced()
    server.backup()
    ana.ok("account", "add", "Lost By Restore")
    ana.synced()
    bob.synced()
    server.restore()
    ana.ok("account", "add", "Unsent")
    result = ana.synced()
    assert result["reset"] is True
    assert _outbox(ana) == 0
    names = sorted(r["name"] for k, r in server.records().items() if k[0] == "account")
    # What the restore lost, the laptop that still had it sent again; its unsent change arrived too.
    assert names == ["Before Backup", "Lost By Restore", "Unsent"]
    # The laptop keeps everything it had.
    local = sorted(r["name"] for k, r in ana.records().items() if k[0] == "account")
    assert local == ["Before Backup", "Lost By Restore", "Unsent"]
    # Another laptop whose cursor is ahead of the restored head resets on pull.
    again = bob.synced()
    assert again["reset"] is True
    assert "Unsent" in {r["name"] for k, r in bob.records().items() if k[0] == "account"}
