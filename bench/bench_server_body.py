"""Peak memory of the sync server under an oversized chunked push (issue 18), measured once against a
real server process on 127.0.0.1 (SQLite):

    .venv/bin/python bench/bench_server_body.py            # a 200 MiB chunked push
    .venv/bin/python bench/bench_server_body.py --mib 400

The client streams a chunked body (no Content-Length) until the server answers or closes; the
figures are the server's peak resident memory (VmHWM of /proc/PID/status, Linux) before and after,
the bytes the client got to send, and the answer's status line. The server reads at most 32 MiB
and answers 413, so its peak stays near its idle size plus 32 MiB.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _sfa(home: Path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "sfa", "--home", str(home), *args], capture_output=True, text=True, check=True
    )
    return proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mib", type=int, default=200, help="size of the chunked push in MiB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sfa-bench-body-") as tmp:
        home = Path(tmp)
        db = f"sqlite:///{home / 'server.db'}"
        _sfa(home, "server", "init", "--db", db)
        token = _sfa(home, "server", "user", "add", "ana", "--db", db).strip()
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sfa",
                "--home",
                str(home),
                "server",
                "run",
                "--port",
                str(port),
                "--db",
                db,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.1)
            idle = _peak_mib(server.pid)
            chunk = b"x" * (1024 * 1024)
            sent = 0
            with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
                head = (
                    f"POST /v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                )
                sock.sendall(head.encode())
                try:
                    while sent < args.mib * 1024 * 1024:
                        sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                        sent += len(chunk)
                    sock.sendall(b"0\r\n\r\n")
                except OSError:
                    pass
                try:
                    answer = sock.recv(4096).split(b"\r\n", 1)[0].decode()
                except OSError as exc:
                    answer = f"(no answer: {exc})"
            peak = _peak_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"chunked push of {args.mib} MiB: the client sent {sent / 2**20:.0f} MiB; answer: {answer}")
    print(f"server peak resident memory: idle {idle:.0f} MiB, after the push {peak:.0f} MiB")


if __name__ == "__main__":
    main()
