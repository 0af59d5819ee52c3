"""How soon is every page ready after a server-side Parquet-folder connection is read? (issue 13: within 60 s at 1M)

    python benchmarks/bench_connect.py                                  # 1M customers, pages opened at once
    python benchmarks/bench_connect.py --settle-from-click 60           # pages opened 60 s after the click on Read
    python benchmarks/bench_connect.py --only "Customer health,Segments" --json benchmarks/out/connect.json
    python benchmarks/bench_connect.py --customers 300000               # another bench_scale.py size

Makes a Parquet folder from benchmarks/out/scale_<N>.csv (written by `bench_scale.py --customers N`;
the folder, benchmarks/out/scale_<N>_parquet/ with one table `purchases`, is written once by DuckDB's
COPY and reused), starts the app on a free loopback port (8520-8529) with a secrets file of its own
in a temporary folder (`--secrets.files`: nothing is written under .streamlit/) that names it as
`[connections.bench] folder = ...`, and drives one headless Chromium session (Playwright, Debian's
/usr/bin/chromium):

1. opens Home (the demo dataset, as a visitor would: its prefetch starts there), then the Data page;
2. picks the connection's purchase table, clicks *Read these tables* and waits until the data
   summary (the data's name, "bench: purchases", and its "Rows used") is drawn and the server's run has finished: the read;
3. with `--settle-from-click S`, waits until S s after the click on *Read* (the fits run meanwhile);
4. walks every sidebar page in order, ending on Home (or only `--only`'s pages), recording per page
   "first" (from the sidebar click until the server's run finished: page idle, as in bench_pages.py),
   "filled" (until no "fills in when it is done" line is left and the rerun that filled it in has
   finished), and when the page was complete, counted from the read's end and from the click on Read;
5. walks them again ("again": everything cached).

"held" is the resident memory of the server and its worker process together (`tree_rss_mb`), after
Home on the first pass and at the end. The browser shares the machine's cores with the server, and
other work on the machine slows both: note `uptime` beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pages import click_through, sidebar_pages
from load_sessions import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGE_TIMEOUT_S,
    RunWatcher,
    app_server,
    free_port,
    tree_rss_mb,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
CONNECTION = "bench"
#: How long, after the walk, to wait for the server's background work to end.
DRAIN_TIMEOUT_S = 300.0
TABLE = "purchases"


def parquet_folder(customers: int) -> Path:
    """benchmarks/out/scale_<N>_parquet/ holding purchases.parquet, written from scale_<N>.csv if absent
    (written under a temporary name, then renamed: another run may be waiting for the same folder)."""
    folder = OUT / f"scale_{customers}_parquet"
    if (folder / f"{TABLE}.parquet").exists():
        return folder
    csv = OUT / f"scale_{customers}.csv"
    while not csv.exists():  # the lead may be writing it (bench_scale.py writes to a temporary name)
        print(f"waiting for {csv} (python benchmarks/bench_scale.py --customers {customers})", file=sys.stderr)
        time.sleep(15)
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{TABLE}.{os.getpid()}.parquet.tmp"
    began = time.perf_counter()
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * FROM read_csv_auto('{csv}')) TO '{partial}' (FORMAT parquet)")
    partial.rename(folder / f"{TABLE}.parquet")
    print(f"wrote {folder / f'{TABLE}.parquet'} in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    return folder


def start_server(port: int, data_dir: str, secrets: Path, timeline: Path):
    """The app on `port` reading its secrets from `secrets` only (not .streamlit/secrets.toml), writing
    its background jobs' timeline to `timeline` (`ui.background.TIMELINE`)."""
    try:
        return app_server.start_app(
            port,
            env={"KEEPWISE_DATA_DIR": data_dir, "KEEPWISE_TIMELINE": str(timeline)},
            args=("--server.disconnectedSessionTTL", "2", "--secrets.files", str(secrets)),
        )
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from exc


async def read_connection(page, runs: RunWatcher, items) -> tuple[float, float, float]:
    """On the Data page: pick the purchase table, click Read, wait for the data summary.
    (perf_counter at the click, at the read's end; the wall clock at the click, as the server's timeline)."""
    nav = page.get_by_test_id("stSidebarNavItems")
    data_href = next(h for h, t in items if t == "Data")
    print("  opening Data", file=sys.stderr)
    await runs.timed(nav.locator(f'a[href="{data_href}"]').click)
    print("  on Data", file=sys.stderr)
    expander = page.get_by_test_id("stExpander").filter(has_text="Connect a database")
    if not await page.get_by_text("Purchase table (one row per purchase)").is_visible():
        await expander.locator("summary").click()
    box = page.get_by_test_id("stSelectbox").filter(has_text="Purchase table (one row per purchase)")
    option = page.get_by_role("option", name=TABLE, exact=True)
    for _ in range(10):  # a click while the expander opens or the page reruns does not open the list
        await box.click()
        try:
            await option.wait_for(timeout=3000)
            break
        except PlaywrightTimeout:
            await page.keyboard.press("Escape")
    await option.click()
    await asyncio.sleep(0.5)  # the rerun the pick starts
    await page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=PAGE_TIMEOUT_S * 1000
    )
    print(f"  picked the table {TABLE}; clicking Read", file=sys.stderr)
    clicked, clicked_wall = time.perf_counter(), time.time()
    await page.get_by_role("button", name="Read these tables").click()
    # the data summary of the connection's data (the demo's has a "Rows used" card too)
    await page.get_by_role("heading", name=f"{CONNECTION}: {TABLE}").wait_for(timeout=PAGE_TIMEOUT_S * 1000)
    await page.get_by_text("Rows used").first.wait_for(timeout=PAGE_TIMEOUT_S * 1000)
    await page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=PAGE_TIMEOUT_S * 1000
    )
    return clicked, time.perf_counter(), clicked_wall


async def session(browser, url: str, server_pid: int, settle_from_click: float, only: list[str] | None) -> dict:
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    runs = RunWatcher(page)
    began = time.perf_counter()
    await runs.timed(lambda: page.goto(url, timeout=PAGE_TIMEOUT_S * 1000))
    print(f"  Home (demo) idle {time.perf_counter() - began:.2f} s (fresh server)", file=sys.stderr)
    items = await sidebar_pages(page)
    rss_before = tree_rss_mb(server_pid)
    clicked, read_at, clicked_wall = await read_connection(page, runs, items)
    print(f"  read in {read_at - clicked:.2f} s after the click on Read", file=sys.stderr)
    if settle_from_click:
        await asyncio.sleep(max(0.0, clicked + settle_from_click - time.perf_counter()))
        print(f"  pages opened {time.perf_counter() - clicked:.1f} s after the click on Read", file=sys.stderr)
    order = items[1:] + items[:1]  # every page, ending on Home
    if only:
        unknown = set(only) - {t for _, t in items}
        if unknown:
            raise SystemExit(f"no page {sorted(unknown)}; pages: {[t for _, t in items]}")
        order = [(h, t) for h, t in order if t in only]
    filled: dict[str, float] = {}
    held: dict[str, float] = {}
    since: dict[str, float] = {}
    first = await click_through(
        page,
        runs,
        order,
        "first",
        filled,
        held,
        lambda: tree_rss_mb(server_pid),
        since,
        read_at,
    )
    again = await click_through(page, runs, order, "again")
    held_end = round(tree_rss_mb(server_pid), 1)
    await context.close()
    return {
        "clicked_wall": clicked_wall,
        "read_s": round(read_at - clicked, 2),
        "settle_from_click_s": settle_from_click,
        "rss_before_read_mib": round(rss_before, 1),
        "first": first,
        "filled": filled,
        "again": again,
        "after_read_s": since,
        "after_click_s": {k: round(v + read_at - clicked, 2) for k, v in since.items()},
        "held_mib": held,
        "held_end_mib": held_end,
    }


async def main_async(customers: int, settle_from_click: float, only: list[str] | None) -> dict:
    folder = parquet_folder(customers)
    with tempfile.TemporaryDirectory() as tmp:
        secrets = Path(tmp) / "secrets.toml"
        secrets.write_text(f'[connections.{CONNECTION}]\nfolder = "{folder}"\n')
        timeline = Path(tmp) / "timeline.jsonl"
        port = free_port()
        server = start_server(port, tmp, secrets, timeline)
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                result = await session(browser, f"http://127.0.0.1:{port}", server.pid, settle_from_click, only)
                await browser.close()
            events = drained_timeline(timeline)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {"customers": customers, "load_before": os.getloadavg(), **result, **background_work(events, result)}


def drained_timeline(path: Path, timeout_s: float = DRAIN_TIMEOUT_S) -> list[dict]:
    """The server's timeline (`ui.background.record`), once its last line says the queue drained (or after
    `timeout_s`: then the work still under way shows as not ended)."""
    deadline = time.monotonic() + timeout_s
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        events = [json.loads(line) for line in lines if line.strip()]
        if (events and events[-1]["event"] == "drained") or time.monotonic() > deadline:
            return events
        time.sleep(0.5)


def background_work(events: list[dict], result: dict) -> dict:
    """When the background work (fits, prefetches, the worker process's calls) was done, in s after the click on
    Read: "work_done_s" (the last time the queue drained; None if it never did) and every job and worker call
    that ended after the click (the demo's earlier ones left out), with queued/start/end from the click.

    A worker call's "start" is inferred: the worker runs its calls one at a time in the order they are
    sent, so a call starts when it was sent or when the call before it came back, whichever is later."""
    click = result["clicked_wall"]

    def since(t: float | None) -> float | None:
        return None if t is None else round(t - click, 2)

    jobs = [
        {
            "label": e["label"],
            "dataset": (e["dataset"] or "")[:20],
            "asked": e["asked"],
            "status": e["status"],
            "queued": since(e["queued"]),
            "start": since(e["start"]),
            "end": since(e["end"]),
        }
        for e in events
        if e["event"] == "job" and e["end"] > click
    ]
    calls, free_at = [], 0.0
    for e in sorted((e for e in events if e["event"] == "worker"), key=lambda e: e["sent"]):
        start = max(e["sent"], free_at)
        free_at = e["back"]
        if e["back"] > click:
            calls.append(
                {"function": e["function"], "sent": since(e["sent"]), "start": since(start), "back": since(e["back"])}
            )
    drained = [e["t"] for e in events if e["event"] == "drained"]
    done = since(max(drained)) if drained and events[-1]["event"] == "drained" else None
    return {"work_done_s": done, "jobs": jobs, "worker_calls": calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000, help="bench_scale.py size (scale_<N>.csv)")
    parser.add_argument(
        "--settle-from-click", type=float, default=0.0, help="open the pages only this many s after the click on Read"
    )
    parser.add_argument("--only", help="comma-separated page titles to visit (in sidebar order)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no Chromium at {CHROMIUM}")
    load = os.getloadavg()
    only = [p.strip() for p in args.only.split(",")] if args.only else None
    r = asyncio.run(main_async(args.customers, args.settle_from_click, only))
    r["load_before"] = load
    r["load_after"] = os.getloadavg()
    print(
        f"\n{args.customers:,} customers through a Parquet-folder connection: read {r['read_s']:.2f} s; "
        f"load {load[0]:.1f} before, {r['load_after'][0]:.1f} after"
        + (f"; pages opened {args.settle_from_click:g} s after the click on Read" if args.settle_from_click else "")
    )
    print(f"{'page':<28}{'first':>8}{'filled':>8}{'again':>8}{'after read':>12}{'after click':>13}{'held MiB':>10}")
    for page, seconds in r["first"].items():
        filled = f"{r['filled'][page]:>8.2f}" if page in r["filled"] else f"{'':>8}"
        again = r["again"].get(page, float("nan"))
        print(
            f"{page[:27]:<28}{seconds:>8.2f}{filled}{again:>8.2f}{r['after_read_s'][page]:>12.1f}"
            f"{r['after_click_s'][page]:>13.1f}{r['held_mib'][page]:>10.1f}"
        )
    if r["after_read_s"]:
        print(
            f"all pages done {max(r['after_read_s'].values()):.1f} s after the read "
            f"({max(r['after_click_s'].values()):.1f} s after the click on Read); "
            f"held {r['held_mib'].get('Home', float('nan')):,.0f} MiB after Home, {r['held_end_mib']:,.0f} at the end"
        )
    print(
        "background work (fits, prefetches, the worker process) all done "
        + (
            f"{r['work_done_s']:.1f} s after the click on Read"
            if r["work_done_s"] is not None
            else "NOT within the wait"
        )
    )
    print(f"{'job (s after the click on Read)':<64}{'queued':>8}{'start':>8}{'end':>8}  asked status")
    for job in sorted(r["jobs"], key=lambda j: (j["start"] is None, j["start"] or 0.0)):
        cells = "".join(f"{'':>8}" if job[k] is None else f"{job[k]:>8.1f}" for k in ("queued", "start", "end"))
        print(
            f"{(job['label'][:44] + ' ' + job['dataset'][:18]):<64}{cells}  {'yes' if job['asked'] else 'no ':<5} {job['status']}"
        )
    print(f"{'worker process call':<64}{'sent':>8}{'start':>8}{'back':>8}")
    for call in r["worker_calls"]:
        print(f"{call['function'][:63]:<64}{call['sent']:>8.1f}{call['start']:>8.1f}{call['back']:>8.1f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
