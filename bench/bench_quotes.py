"""`sfa quote export` of a 200-line quote to PDF, as a whole process (target: <= 1 s).

Usage: python bench/bench_quotes.py [--runs N] [--lines N] [--format pdf|md|html]

Builds a throw-away data home with one quote of N lines (a mix of products, free text, discounts
and two tax rates), then runs `python -m sfa --home HOME quote export NUMBER --output FILE` N times
and prints the median, min and max wall time. For scale it also times `python -m sfa --version`
(the interpreter + Typer start-up every command pays).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sfa.services import crm, products, quotes
from sfa.store.workspace import Workspace

TARGET_S = 1.0


def build(home: Path, lines: int) -> str:
    ws = Workspace(home)
    try:
        for key, value in {
            "company.name": "Alpenblick Fördertechnik GmbH",
            "company.address": "Gewerbepark Nord 7; 85356 Freising; Germany",
            "company.vat_id": "DE812345678",
        }.items():
            ws.config.set(key, value)
        account = crm.add_account(
            ws,
            {
                "name": "Müller & Söhne Brauerei GmbH",
                "street": "Hopfenweg 3",
                "postcode": "85354",
                "city": "Freising",
            },
        )
        products.add_product(ws, {"name": "Gurtförderer Modul 2 m", "sku": "FT-200", "unit_price": "2650"})
        products.add_product(
            ws, {"name": "Technisches Handbuch", "sku": "HB-DE", "unit_price": "49.90", "tax_rate": "7"}
        )
        quote = quotes.new_quote(ws, account_ref=account["id"])
        with ws.store.transaction():
            for n in range(lines):
                if n % 3 == 0:
                    quotes.add_line(ws, quote["id"], product_ref="FT-200", qty=str(n % 7 + 1), discount="5%")
                elif n % 3 == 1:
                    quotes.add_line(ws, quote["id"], product_ref="HB-DE", qty="2")
                else:
                    quotes.add_line(
                        ws,
                        quote["id"],
                        description=f"Montage Abschnitt {n} – Förderstrecke, "
                        "inklusive Ausrichtung und Probelauf",
                        price="85.50",
                        qty="7.5",
                        discount="25.00",
                    )
        return str(quote["number"])
    finally:
        ws.close()


# Installed packages run from bytecode (pip compiles it on install). Where PYTHONDONTWRITEBYTECODE is set
# and the installer did not compile (uv's default), every run would recompile fpdf2 and fontTools from
# source, about 1.4 s here: let the warm-up run write the .pyc files, as a normal install has them.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


CPU: list[float] = []  # user + system CPU seconds of each timed child, beside its wall time


def timed(args: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--format", default="pdf", choices=["pdf", "md", "html"])
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        number = build(home, options.lines)
        out = Path(tmp) / f"quote.{options.format}"
        command = [
            sys.executable,
            "-m",
            "sfa",
            "--home",
            str(home),
            "quote",
            "export",
            number,
            "--output",
            str(out),
        ]
        timed(command)  # warm up: the OS file cache, and bytecode (see ENV)
        runs = [timed(command) for _ in range(options.runs)]
        cpu = statistics.median(CPU[-options.runs :])
        baseline = [timed([sys.executable, "-m", "sfa", "--version"]) for _ in range(options.runs)]
        size = out.stat().st_size
    median = statistics.median(runs)
    spread = f"min {min(runs):.3f} s, max {max(runs):.3f} s over {options.runs} runs"
    print(
        f"sfa quote export ({options.lines} lines, .{options.format}, {size:,} bytes): "
        f"median {median:.3f} s, {spread}; CPU (user+sys) median {cpu:.3f} s"
    )
    print(f"sfa --version (start-up baseline): median {statistics.median(baseline):.3f} s")
    verdict = "OK" if median <= TARGET_S else "OVER TARGET"
    load = f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    print(f"target <= {TARGET_S:.1f} s: {verdict}  ({load})")
    return 0 if median <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
