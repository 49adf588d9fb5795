"""Peak memory of the sync server under an oversized chunked push (issue 18), measured once against a
real server process on 127.0.0.1 (SQLite):

    .venv/bin/python bench/bench_server_body.py            # a 200 MiB chunked push
    .venv/bin/python bench/bench_server_body.py --mib 400
    .venv/bin/python bench/bench_server_body.py --gzip     # 200 MiB of JSON, sent gzip-compressed

The client streams a chunked body (no Content-Length) over HTTP/1.1 until the server answers or
closes: a push request as a laptop would send it (`{"protocol":1,...,"mutations":[` and then
mutations of about 1 KiB each, never closed), so nothing short of the size limit can refuse it
early. With `--gzip` the same JSON goes gzip-compressed (`Content-Encoding: gzip`), so the server
inflates it. The figures: the server's peak resident memory (VmHWM of /proc/PID/status, Linux, the
largest of the server process and any children) idle and after the push, in MiB and MB, the bytes
the client got to send, and the answer's status line; the last line says whether the peak stayed
below the issue's 200 MB (the exit status is 1 when not). The server reads at most 32 MiB (as read
and as inflated) and answers 413, so its peak stays near its idle size plus 32 MiB.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found + [g for c in found for g in _children(c)]


def _peak_mib(pid: int) -> float:
    """The largest peak resident set of the server process and its children, in MiB."""
    return max(_hwm_kib(p) for p in [pid, *_children(pid)]) / 1024


BODY_HEAD = b'{"protocol":1,"client_id":"bench-body","acked":0,"mutations":['


def _json_chunk(size: int) -> bytes:
    """About `size` bytes of push mutations (1 KiB each, comma-terminated: the list never closes)."""
    name = "x" * 900
    clock = "0001764400000000:00000:benchbody"
    parts, total, seq = [], 0, 0
    while total < size:
        seq += 1
        record_id = f"01900000-0000-7000-8000-{seq:012d}"
        item = (
            f'{{"seq":{seq},"entity":"account","id":"{record_id}","fields":{{"name":["{name}","{clock}"]}}}},'
        ).encode()
        parts.append(item)
        total += len(item)
    return b"".join(parts)


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
    parser.add_argument("--gzip", action="store_true", help="send the JSON gzip-compressed")
    args = parser.parse_args()
    body = _json_chunk(1024 * 1024)
    if args.gzip:
        stream = _gzip_stream(body, args.mib)
    else:
        stream = iter([BODY_HEAD, *(body for _ in range(args.mib))])
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
            sent = 0
            with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
                head = (
                    f"POST /v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                    + ("Content-Encoding: gzip\r\n" if args.gzip else "")
                    + "\r\n"
                )
                sock.sendall(head.encode())
                try:
                    for chunk in stream:
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
    what = f"chunked push of {args.mib} MiB of JSON" + (" gzip-compressed" if args.gzip else "")
    print(f"{what}: the client sent {sent / 2**20:.1f} MiB; answer: {answer}")
    print(
        f"server peak resident memory (VmHWM): idle {idle:.0f} MiB ({idle * 2**20 / 1e6:.0f} MB),"
        f" after the push {peak:.0f} MiB ({peak * 2**20 / 1e6:.0f} MB)"
    )
    below = peak * 2**20 < 200e6
    print(f"peak below 200 MB: {'yes' if below else 'NO'}")
    if not below:
        sys.exit(1)


def _gzip_stream(body: bytes, mib: int) -> Iterator[bytes]:
    """`mib` MiB of push JSON as one gzip stream, compressed as it is sent."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    yield packer.compress(BODY_HEAD)
    for _ in range(mib):
        out = packer.compress(body)
        if out:
            yield out
    yield packer.flush()


if __name__ == "__main__":
    main()
