"""Issue 17's figures: `product configure` (8 attributes, 15 rules) against `product show`, `dedupe
scan` over 100,000 contacts, and `event capture` against the bare Typer baseline.

    python bench/bench_products.py [--runs 7] [--contacts 100000]

Whole processes, stdout piped, runs interleaved (bench/common.py). Targets: configure <= 1.2x show;
dedupe scan <= 3 s; event capture <= 1.3x the hello-world.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DATA, hello_command, interleaved, report, sfa_command, time_process
from sfa.domain.entities import CONTACT
from sfa.store.migrations import LATEST
from sfa.store.workspace import Workspace
from tests.configurator_fixture import BASE, NAME, OPTIONS, RULES, SKU


def configured_store(home: Path) -> None:
    """The configurator fixture's product (tests/configurator_fixture.py), 8 attributes, 15 rules."""
    from sfa.services import configurator, products

    ws = Workspace(home)
    try:
        products.add_product(ws, {"name": NAME, "sku": SKU, "unit_price": str(BASE)})
        for o in OPTIONS:
            configurator.add_option(
                ws,
                SKU,
                attribute=o.attribute,
                value=o.value,
                extra=str(o.extra),
                sku_suffix=o.sku_suffix,
                default=o.default,
                required=o.required,
                multiple=o.multiple,
            )
        for r in RULES:
            target = f"{r.target[0]}={r.target[1]}"
            configurator.add_rule(
                ws,
                SKU,
                when=[f"{a}={v}" for a, v in r.when],
                require=target if r.action == "require" else None,
                exclude=target if r.action == "exclude" else None,
                message=r.message or None,
            )
    finally:
        ws.close()


def duplicate_store(contacts: int) -> Path:
    """`contacts` contacts, one in 50 a second spelling of another (same email)."""
    home = DATA / f"dedupe-v{LATEST}-{contacts}"
    if (home / "ok").exists():
        return home
    home.mkdir(parents=True, exist_ok=True)
    ws = Workspace(home)
    try:
        rows = []
        for i in range(contacts):
            n = i - 1 if i % 50 == 49 else i
            rows.append(
                {
                    "name": f"Person {n}" if i % 50 != 49 else f"PERSON, {n}",
                    "email": f"person{n}@example.com",
                    "phone": f"+49 89 {1000000 + i}",
                    "owner": "rep",
                }
            )
        for start in range(0, contacts, 10_000):
            ws.store.insert_many(CONTACT, rows[start : start + 10_000])
    finally:
        ws.close()
    (home / "ok").write_text("complete\n")
    return home


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        configured_store(home)
        options = [
            "--option",
            "Stroke=600 mm",
            "--option",
            "Force=6000 N",
            "--option",
            "Housing=steel",
            "--option",
            "Extras=brake",
            "--option",
            "Extras=cable 5 m",
            "--option",
            "Feedback=encoder",
        ]
        times = interleaved(
            {
                "show": sfa_command(home, "product", "show", SKU),
                "configure": sfa_command(home, "product", "configure", SKU, *options, "--json"),
            },
            args.runs,
        )
        ratio = times["configure"] / times["show"]
        rows.append(
            (
                "product configure / show",
                f"{ratio:.2f}x ({times['configure'] * 1000:.0f} ms)",
                "<= 1.2x",
                ratio <= 1.2,
            )
        )
        run_ = sfa_command(home, "event", "add", "Fair", "--kind", "trade-show", "--from", "today")
        time_process(run_, 1)
        capture = sfa_command(home, "event", "capture", "Fair", "Visitor", "--email", "v@example.com", "-q")
        times = interleaved({"hello": hello_command(), "capture": capture}, args.runs)
        ratio = times["capture"] / times["hello"]
        rows.append(
            (
                "event capture / hello-world",
                f"{ratio:.2f}x ({times['capture'] * 1000:.0f} ms)",
                "<= 1.3x",
                ratio <= 1.3,
            )
        )
    big = duplicate_store(args.contacts)
    scan = sfa_command(big, "dedupe", "scan", "--type", "contact", "--json")
    time_process(scan, 1)
    samples = time_process(scan, max(3, args.runs // 2))
    best = sorted(samples)[len(samples) // 2]
    rows.append((f"dedupe scan, {args.contacts:,} contacts", f"{best:.2f} s", "<= 3 s", best <= 3.0))
    start = time.perf_counter()
    from sfa.services import dedupe

    ws = Workspace(big)
    try:
        groups = dedupe.scan(ws, ["contact"])
    finally:
        ws.close()
    rows.append(
        (
            "  of which the scan itself",
            f"{time.perf_counter() - start:.2f} s ({len(groups)} groups)",
            "",
            True,
        )
    )
    report(rows)


if __name__ == "__main__":
    main()
