"""Orders, contracts and documents (issue 15): figures against the bare Typer baseline.

Usage: python -m bench.bench_deal [--runs N] [--contracts N] [--blob-mb N]

- `sfa order submit` of a 200-line order (the pricing check over every line): <= 1.5x the baseline;
- `sfa contract list --renewal-due 90d` over 20,000 contracts: <= 1.5x the baseline;
- document content through sync on loopback (the real server process, SQLite): upload and priming
  download throughput, target >= 50 MB/s each.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from bench.common import hello_command, report, sfa_command, time_process

RATIO = 1.5


def _orders(home: Path, count: int, lines: int) -> list[str]:
    """`count` draft orders of `lines` lines each, made from one accepted quote."""
    from sfa.services import crm, orders, products, quotes
    from sfa.store.workspace import Workspace

    ws = Workspace(home)
    try:
        account = crm.add_account(ws, {"name": "Müller & Söhne Brauerei GmbH", "city": "Freising"})
        products.add_product(ws, {"name": "Gurtförderer Modul", "sku": "FT-200", "unit_price": "2650"})
        products.add_product(ws, {"name": "Handbuch", "sku": "HB-DE", "unit_price": "49.90", "tax_rate": "7"})
        quote = quotes.new_quote(ws, account_ref=account["id"])
        with ws.store.transaction():
            for n in range(lines):
                sku = "FT-200" if n % 2 else "HB-DE"
                quotes.add_line(ws, quote["id"], product_ref=sku, qty=str(n % 7 + 1), discount="5%")
        quotes.send(ws, quote["id"])
        quotes.accept(ws, quote["id"])
        return [str(orders.new_from_quote(ws, quote["id"])["number"]) for _ in range(count)]
    finally:
        ws.close()


def _contracts(home: Path, count: int) -> None:
    from sfa.domain.entities import ACCOUNT, CONTRACT
    from sfa.store.workspace import Workspace

    ws = Workspace(home)
    try:
        today = date.today()
        accounts = ws.store.insert_many(ACCOUNT, [{"name": f"Kunde {n}"} for n in range(200)])
        rows = []
        for n in range(count):
            start = today - timedelta(days=n % 700)
            rows.append(
                {
                    "number": f"C-2026-BNCH-{n:05d}",
                    "revision": 1,
                    "account_id": accounts[n % 200]["id"],
                    "title": f"Wartungsvertrag {n}",
                    "start_date": start,
                    "term_months": 24,
                    "end_date": start + timedelta(days=730),
                    "notice_days": 90,
                    "value": Decimal(1200 + n % 500),
                    "currency": "EUR",
                    "status": "activated" if n % 10 else "draft",
                }
            )
        for start in range(0, count, 5000):
            ws.store.insert_many(CONTRACT, rows[start : start + 5000])
    finally:
        ws.close()


def _blob_throughput(tmp: Path, megabytes: int) -> tuple[float, float]:
    """(upload MB/s, download MB/s) of `megabytes` of documents through a real server on loopback."""
    import socket

    from bench.common import PYTHON

    server_home = tmp / "server"
    server_home.mkdir()
    db = f"sqlite:///{server_home / 'server.db'}"

    def admin(*args: str) -> str:
        proc = subprocess.run(
            [PYTHON, "-m", "sfa", "--home", str(server_home), "server", *args, "--db", db],
            capture_output=True,
            text=True,
            check=True,
        )
        return proc.stdout.strip()

    admin("init")
    tokens = [admin("user", "add", name, "--team", "north") for name in ("ana", "bob")]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [PYTHON, "-m", "sfa", "--home", str(server_home), "server", "run", "--port", str(port), "--db", db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        homes = []
        for name, token in zip(("ana", "bob"), tokens, strict=True):
            home = tmp / name
            subprocess.run(
                sfa_command(home, "sync", "login", f"http://127.0.0.1:{port}", "--token", token),
                check=True,
                capture_output=True,
            )
            homes.append(home)
        account = subprocess.run(
            sfa_command(homes[0], "account", "add", "Huber", "-q"), check=True, capture_output=True, text=True
        ).stdout.strip()
        files = max(1, megabytes // 10)
        for n in range(files):
            path = tmp / f"doc{n}.bin"
            path.write_bytes(secrets.token_bytes(megabytes * (1 << 20) // files))
            subprocess.run(sfa_command(homes[0], "doc", "add", str(path), "--account", account), check=True)
        subprocess.run(sfa_command(homes[1], "sync"), check=True, capture_output=True)  # login pull
        up = time_process(sfa_command(homes[0], "sync"), 1)[0]
        down = time_process(sfa_command(homes[1], "sync"), 1)[0]
        baseline = time_process(sfa_command(homes[1], "sync"), 1)[0]  # a sync with nothing to move
        return megabytes / max(up - baseline, 1e-3), megabytes / max(down - baseline, 1e-3)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--contracts", type=int, default=20_000)
    parser.add_argument("--blob-mb", type=int, default=100)
    options = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base = statistics.median(time_process(hello_command(), options.runs + 1)[1:])

        home = tmp / "orders"
        numbers = _orders(home, options.runs + 1, options.lines)
        samples = [time_process(sfa_command(home, "order", "submit", n), 1)[0] for n in numbers]
        submit = statistics.median(samples[1:])
        rows.append(
            (
                f"order submit ({options.lines} lines)",
                f"{submit:.3f} s = {submit / base:.2f}x",
                f"<= {RATIO}x",
                submit <= RATIO * base,
            )
        )

        home = tmp / "contracts"
        _contracts(home, options.contracts)
        command = sfa_command(home, "contract", "list", "--renewal-due", "90d")
        listed = statistics.median(time_process(command, options.runs + 1)[1:])
        rows.append(
            (
                f"contract list --renewal-due 90d ({options.contracts:,})",
                f"{listed:.3f} s = {listed / base:.2f}x",
                f"<= {RATIO}x",
                listed <= RATIO * base,
            )
        )
        if options.blob_mb and shutil.which("true"):
            up, down = _blob_throughput(tmp, options.blob_mb)
            rows.append((f"blob upload ({options.blob_mb} MB)", f"{up:.0f} MB/s", ">= 50 MB/s", up >= 50))
            rows.append(
                (f"blob priming ({options.blob_mb} MB)", f"{down:.0f} MB/s", ">= 50 MB/s", down >= 50)
            )
    print(
        f"bare Typer baseline: {base:.3f} s (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)"
    )
    report(rows)
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
