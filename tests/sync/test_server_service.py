"""The server run as a service: readiness, metrics, JSON request logs, TLS, workers, graceful
shutdown, backup and restore (docs/deploy.md)."""

from __future__ import annotations

import io
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from inprocess import URL, Bridge, InProcessServer
from sqlalchemy import text
from synchelp import PgCluster, Server, free_port, run_sfa, wait_until

from sfa.server import admin, storage
from sfa.server.observe import wrap
from sfa.store.workspace import Workspace
from sfa.sync import engine


def _push_one(ws: Workspace, conn: engine.Connection, name: str) -> None:
    from sfa.services import crm

    crm.add_account(ws, {"name": name})
    engine.sync_once(ws, conn=conn)


@pytest.fixture
def observed(tmp_path: Path) -> Any:
    srv = InProcessServer(tmp_path / "server")
    log = io.StringIO()
    app = wrap(srv.app, srv.engine, metrics=True, log_format="json", log=log)
    srv.transport.shutdown()
    srv.transport = Bridge(app)
    yield srv, log
    srv.close()


def test_ready_metrics_and_one_json_line_per_request(observed: Any, tmp_path: Path) -> None:
    srv, log = observed
    ws = Workspace(tmp_path / "laptop")
    conn = srv.login(ws, srv.add_user("ana"))
    _push_one(ws, conn, "Bergmann GmbH")
    client = httpx.Client(transport=srv.transport, base_url=URL)

    ready = client.get("/v1/ready")
    assert ready.status_code == 200 and ready.json() == {"ready": True, "schema": storage.LATEST}
    health = client.get("/v1/health")
    assert "x-request-id" in health.headers
    assert not [h for h in health.headers if h.startswith("x-sfa-")]  # internal headers never leave

    metrics = client.get("/metrics").text
    assert 'sfa_requests_total{endpoint="/v1/push",status="200"} 1' in metrics
    assert 'sfa_mutations_total{outcome="applied"} 1' in metrics
    assert 'sfa_request_seconds_count{endpoint="/v1/pull"}' in metrics
    assert "sfa_active_clients 1" in metrics

    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    push = [line for line in lines if line["endpoint"] == "/v1/push"]
    assert len(push) == 1
    assert push[0]["user"] == "ana" and push[0]["status"] == 200 and push[0]["mutations"] == 1
    assert push[0]["client_id"] == ws.store.replica_id
    assert all(len(line["request_id"]) == 16 for line in lines)
    ws.close()


def test_not_ready_when_the_schema_is_old(observed: Any) -> None:
    srv, _log = observed
    with srv.engine.begin() as conn:
        conn.execute(text("UPDATE server_meta SET value = '0' WHERE key = 'schema_version'"))
    reply = httpx.Client(transport=srv.transport, base_url=URL).get("/v1/ready")
    assert reply.status_code == 503
    assert reply.json()["ready"] is False and "schema 0" in reply.json()["error"]


def test_metrics_are_off_unless_asked(tmp_path: Path) -> None:
    srv = InProcessServer(tmp_path / "server")
    try:
        srv.transport.shutdown()
        srv.transport = Bridge(wrap(srv.app, srv.engine))
        assert httpx.Client(transport=srv.transport, base_url=URL).get("/metrics").status_code == 404
    finally:
        srv.close()


# -- run options and refusals --------------------------------------------------------------------


def test_run_refuses_workers_on_sqlite_and_half_a_tls_pair(tmp_path: Path) -> None:
    home = tmp_path / "srv"
    assert run_sfa(home, "server", "init").code == 0
    workers = run_sfa(home, "server", "run", "--workers", "2", "--port", str(free_port()))
    assert workers.code != 0 and workers.err.count("\n") == 1
    assert "workers" in workers.err and "PostgreSQL" in workers.err
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    half = run_sfa(home, "server", "run", "--tls-cert", str(cert), "--port", str(free_port()))
    assert half.code != 0 and "tls" in half.err and half.err.count("\n") == 1
    fmt = run_sfa(home, "server", "run", "--log-format", "xml", "--port", str(free_port()))
    assert fmt.code != 0 and "log_format" in fmt.err


def _serve(home: Path, port: int, *args: str, hooks: bool = False) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SFA_SERVER_TEST_HOOKS": "1" if hooks else ""}
    return subprocess.Popen(
        [sys.executable, "-m", "sfa", "--home", str(home), "server", "run", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


# uvicorn finishes the requests in flight, then re-raises the signal it caught: the process ends
# "killed by SIGTERM", which service managers count as a clean stop.
STOPPED = (0, -signal.SIGTERM)


def _stop(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        _out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate(timeout=30)
    return proc.returncode, err.decode()


def _answers(url: str, **kwargs: Any) -> bool:
    try:
        return httpx.get(url, timeout=2, **kwargs).status_code == 200
    except httpx.HTTPError:
        return False


def test_tls_and_graceful_shutdown(tmp_path: Path) -> None:
    home = tmp_path / "srv"
    assert run_sfa(home, "server", "init").code == 0
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip("openssl could not make a test certificate")
    port = free_port()
    proc = _serve(home, port, "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        wait_until(
            lambda: _answers(
                f"https://127.0.0.1:{port}/v1/ready", verify=ssl.create_default_context(cafile=str(cert))
            ),
            60,
            "https",
        )
        assert not _answers(f"http://127.0.0.1:{port}/v1/health")  # plain HTTP is not served
    finally:
        code, err = _stop(proc)
    assert code in STOPPED, err
    assert "Traceback" not in err


def test_sigterm_finishes_the_push_in_flight(tmp_path: Path) -> None:
    import threading

    home = tmp_path / "srv"
    assert run_sfa(home, "server", "init").code == 0
    token = run_sfa(home, "server", "user", "add", "ana", "--team", "north").out.strip()
    port = free_port()
    proc = _serve(home, port, hooks=True)
    url = f"http://127.0.0.1:{port}"
    reply: dict[str, Any] = {}
    mutation = {
        "seq": 1,
        "entity": "account",
        "id": "0190a1b2-0000-7000-8000-000000000001",
        "fields": {"name": ["Graceful GmbH", "0000000001000:00000:aaaaaaaa"]},
    }
    body = {"client_id": "laptop-1", "protocol": 1, "mutations": [mutation], "acked": 0}

    def push() -> None:
        headers = {"authorization": f"Bearer {token}", "x-test-delay-commit": "2"}
        reply["response"] = httpx.post(f"{url}/v1/push", json=body, headers=headers, timeout=30)

    try:
        wait_until(lambda: _answers(f"{url}/v1/ready"), 60, "the server")
        pushing = threading.Thread(target=push)
        pushing.start()
        time.sleep(0.7)  # the push is inside its 2-second commit delay
    finally:
        code, err = _stop(proc)
    pushing.join(30)
    assert code in STOPPED, err
    assert reply["response"].status_code == 200, reply["response"].text
    assert reply["response"].json()["results"][0]["status"] in ("applied", "rejected")


def test_workers_share_the_port_on_postgres(pg_cluster: PgCluster, tmp_path: Path) -> None:
    home = tmp_path / "srv"
    db = pg_cluster.url(pg_cluster.new_database())
    assert run_sfa(home, "server", "init", "--db", db).code == 0
    port = free_port()
    proc = _serve(home, port, "--db", db, "--workers", "2", "--log-format", "json")
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/v1/ready"), 90, "two workers")

        def workers() -> list[int]:
            found = []
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    if int(fields[1]) == proc.pid:
                        found.append(int(entry.name))
            return found

        wait_until(lambda: len(workers()) >= 2, 60, "worker processes")
        for _ in range(20):
            assert httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=5).status_code == 200
    finally:
        code, err = _stop(proc)
    assert code in STOPPED, err
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert sum(1 for line in logged if line["endpoint"] == "/v1/health") == 20


# -- backup and restore --------------------------------------------------------------------------


def test_backup_while_running_and_restore_start_a_new_epoch(
    server: Server, laptop: Any, tmp_path: Path
) -> None:
    ana = laptop("ana")
    ana.ok("account", "add", "Before Backup GmbH")
    assert ana.sync().code == 0
    before_epoch = httpx.get(f"http://127.0.0.1:{server.port}/v1/health").json()["epoch"]
    backup = tmp_path / "server.backup"
    made = server.admin("backup", "--output", str(backup), "--json")
    assert json.loads(made.out)["bytes"] == backup.stat().st_size > 0
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    ana.ok("account", "add", "After Backup AG")
    assert ana.sync().code == 0
    names = {r.get("name") for r in server.records().values()}
    assert {"Before Backup GmbH", "After Backup AG"} <= names

    server.stop()
    server.admin("restore", str(backup))
    server.start()
    names = {r.get("name") for r in server.records().values()}
    assert "Before Backup GmbH" in names and "After Backup AG" not in names
    after_epoch = httpx.get(f"http://127.0.0.1:{server.port}/v1/health").json()["epoch"]
    assert after_epoch != before_epoch
    assert httpx.get(f"http://127.0.0.1:{server.port}/v1/ready").json()["ready"] is True


def test_backup_and_restore_refuse_bad_paths(tmp_path: Path) -> None:
    home = tmp_path / "srv"
    assert run_sfa(home, "server", "init").code == 0
    nowhere = run_sfa(home, "server", "backup", "--output", str(tmp_path / "no" / "such" / "file"))
    assert nowhere.code == 1 and nowhere.err.count("\n") == 1 and "output" in nowhere.err
    folder = run_sfa(home, "server", "backup", "--output", str(tmp_path))
    assert folder.code != 0 and "directory" in folder.err
    missing = run_sfa(home, "server", "restore", str(tmp_path / "missing.backup"))
    assert missing.code == 1 and "no backup file" in missing.err
    junk = tmp_path / "junk.backup"
    junk.write_bytes(os.urandom(4096))
    bad = run_sfa(home, "server", "restore", str(junk))
    assert bad.code != 0 and bad.err.count("\n") == 1 and "backup" in bad.err
    assert not list(tmp_path.glob("*.partial"))
    # The database is untouched by the refused restore.
    assert admin.list_users(home, None) == []


def test_the_load_bench_runs_and_checks_what_it_stored() -> None:
    """bench/bench_server_load.py ships with the project: a short run must pass its own checks."""
    bench = Path(__file__).resolve().parents[2] / "bench" / "bench_server_load.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--reps", "4", "--seconds", "3"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["errors"] == 0 and summary["problems"] == []
    assert summary["mutations_per_s"] > 0
