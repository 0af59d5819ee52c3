"""How long does each page take to become idle? Every page, on a demo and on uploads, cold and warm.

    python benchmarks/bench_pages.py                         # demo + 10,000-customer upload + 7,000-row table
    python benchmarks/bench_pages.py --scenarios demo --json benchmarks/out/pages.json

Starts the app on a free loopback port (8520-8529) and drives one headless Chromium session
(Playwright, Debian's /usr/bin/chromium) through every page listed in the sidebar, twice:

- pass 1 ("first"): the first visit of each page in a fresh session on a fresh server, so it
  includes the model fits that page triggers (nothing is cached yet);
- pass 2 ("again"): the same pages again, with the fits cached: what a user feels from then on.

Scenarios:
- ``demo``: the default demo (subscription: 6,000 customers with 80,000 payments);
- ``upload10k``: a seeded synthetic purchase log of 10,000 customers (about 60,000 purchases over
  two years) uploaded on the Data page;
- ``customers7k``: a 7,000-row customers table (the demo's 6,000 rows plus 1,000 copies with new
  ids) uploaded alone, the case that made Segments slow;
- ``upload300k``: benchmarks/out/scale_300000.csv (300,000 customers, 1.47M purchases, written by
  bench_scale.py), for the session's memory: "held" is the resident memory of the server and
  its worker process (which runs the large fits, `ui.worker`) after each page of the first pass has
  filled in, minus theirs before the upload (issue 13: under 500 MB);
- ``upload1m``: benchmarks/out/scale_1000000.csv (1,000,000 customers, 4.9M purchases, 182 MB: under
  the 200 MB upload limit), for issue 13's "every page ready within 60 s of the upload". Heavy: run
  it alone (`--first-only`), never beside a 2M bench_scale.

For memory: `--breakdown` adds, after each page, the server's resident MiB by kind and what
st.cache_data holds (largest results after the last page); `--settle 240` waits for the server's fits
to end after the first pass and prints "held" once more (what the session keeps once idle), and again
once the worker process has ended after its idle time (`SharedWorker.IDLE_EXIT_S`, "at rest"):

    python benchmarks/bench_pages.py --scenarios upload300k --first-only --breakdown --settle 240

`--hold S` keeps the session open S seconds more and prints the server's and worker's process ids,
to look inside them meanwhile (py-spy dump, /proc/PID/smaps, a heap snapshot).

Page idle = from the sidebar click until the browser has received the server's "script finished"
message for that page's full run (read from the app's websocket, as in load_sessions.py). The
browser shares the machine's 2 cores with the server, so the figures are an upper bound.

A page whose models still fit in the background (ui/background.py) is idle once it shows the rest
and a line saying what is being fitted; "filled" is the time from the click until no such line is
left and the rerun that filled it in has finished, measured before the next click, on the first pass.
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

import numpy as np
import pandas as pd
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_sessions import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGE_TIMEOUT_S,
    RunWatcher,
    free_port,
    process_tree,
    start_server,
    tree_rss_mb,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from analytics.engine.parallel import SharedWorker  # noqa: E402

IDLE_EXIT_S = SharedWorker.IDLE_EXIT_S or 0.0  # the app's worker ends after this many idle seconds
BUDGET_S = 3.0
SEED = 20261125
SCALE_FILES = {  # scenario -> a bench_scale.py file (benchmarks/out, git-ignored)
    "upload300k": ROOT / "benchmarks" / "out" / "scale_300000.csv",
    "upload1m": ROOT / "benchmarks" / "out" / "scale_1000000.csv",
}
PENDING_TEXT = "fills in when it is done"
SETTLE_S = 0.0  # --settle S: after the first pass, wait up to S s for the server's fits to finish, then "held" again
BREAKDOWN = False  # --breakdown: the server's resident memory by kind after each page (resident_by_kind)
HOLD_S = 0.0  # --hold S: keep the session open S s after the first pass (and --settle), to attach a profiler
AGAIN = True  # --first-only: no second pass (memory figures need only the first)  # ui.background.pending's line and Home's waiting cards


def synthetic_purchases(n_customers: int = 10_000, seed: int = SEED) -> pd.DataFrame:
    """A purchase log: each customer buys at a gamma-distributed rate until a geometric drop-out."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01")
    days = 730
    rows = []
    first = rng.integers(0, days - 30, n_customers)
    rate = rng.gamma(0.8, 1 / 20, n_customers)  # purchases per day
    alive_days = rng.exponential(300, n_customers)
    spend = rng.gamma(3.0, 15.0, n_customers)
    for cid in range(n_customers):
        t = first[cid]
        end = min(days - 1, first[cid] + alive_days[cid])
        while t <= end:
            rows.append((f"C{cid:05d}", start + pd.Timedelta(days=int(t)), round(spend[cid] * rng.gamma(4, 0.25), 2)))
            t += max(1, int(rng.exponential(1 / rate[cid])))
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])


GLIBC_HEAP_MAX = 64 << 20  # a glibc thread arena grows in heaps of this size, mapped at this alignment (64-bit)


def resident_by_kind(pid: int) -> dict[str, float]:
    """The process's resident MiB by kind of mapping (/proc/PID/smaps): glibc's main heap (`[heap]`),
    glibc's thread arenas (anonymous mappings starting on a 64 MiB boundary whose reservation spans
    64 MiB), other anonymous memory (large arrays mapped on their own, Arrow's and Python's
    allocators, thread stacks) and file mappings (code of the libraries)."""
    maps: list[dict] = []
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            start, end = (int(x, 16) for x in head[0].split("-"))
            maps.append({"start": start, "end": end, "perm": head[1], "name": " ".join(head[5:]), "rss": 0})
        elif head[0] == "Rss:":
            maps[-1]["rss"] = int(head[1]) / 1024
    kinds = {"heap": 0.0, "arenas": 0.0, "anon": 0.0, "files": 0.0}
    for i, mapping in enumerate(maps):
        following = maps[i + 1] if i + 1 < len(maps) else None
        reserved = mapping["end"]
        if following is not None and following["start"] == mapping["end"] and following["perm"].startswith("---"):
            reserved = following["end"]
        if mapping["name"] == "[heap]":
            kind = "heap"
        elif mapping["name"]:
            kind = "files"
        elif mapping["start"] % GLIBC_HEAP_MAX == 0 and reserved - mapping["start"] == GLIBC_HEAP_MAX:
            kind = "arenas"
        else:
            kind = "anon"
        kinds[kind] += mapping["rss"]
    return {k: round(v, 1) for k, v in kinds.items()}


def cpu_seconds(pid: int) -> float:
    """CPU seconds the process and its child processes (the app's worker) have used (user + system,
    /proc/PID/stat of each)."""
    total = 0.0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def worker_pids(pid: int) -> list[int]:
    """The server's worker processes (`ui.worker`: started by multiprocessing's spawn), not its resource tracker."""
    found = []
    for member in process_tree(pid)[1:]:
        try:
            command = Path(f"/proc/{member}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing.spawn" in command:
            found.append(member)
    return found


async def worker_gone(pid: int, timeout_s: float) -> float | None:
    """Seconds until the server's worker process has ended (`SharedWorker.idle_exit_s` after its last
    fit), None if it still runs after `timeout_s`."""
    began = time.perf_counter()
    while worker_pids(pid):
        if time.perf_counter() - began > timeout_s:
            return None
        await asyncio.sleep(1.0)
    return time.perf_counter() - began


async def settle(pid: int, timeout_s: float, quiet_s: float = 5.0) -> float:
    """Seconds until the server and its worker process have been idle (under 5% of a core) for `quiet_s`:
    the background fits are done."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout_s:
        used = cpu_seconds(pid)
        await asyncio.sleep(quiet_s)
        if cpu_seconds(pid) - used < 0.05 * quiet_s:
            break
    return time.perf_counter() - began


def cache_mib(url: str) -> dict[str, float]:
    """MiB each `st.cache_data` function holds on the server (its /_stcore/metrics), largest first."""
    import urllib.request

    text = urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=10).read().decode()
    sizes: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith('cache_memory_bytes{cache_type="st_cache_data"'):
            name = line.split('cache="', 1)[1].split('"', 1)[0]
            sizes[name] = sizes.get(name, 0.0) + int(float(line.rsplit(" ", 1)[1])) / 2**20
    return dict(sorted(((k, round(v, 1)) for k, v in sizes.items()), key=lambda kv: -kv[1]))


def customers_7k() -> pd.DataFrame:
    demo = pd.read_csv(ROOT / "data" / "subscription_customers.csv")
    extra = demo.sample(7_000 - len(demo), random_state=SEED, replace=False).copy()
    extra[demo.columns[0]] = [f"X{i:05d}" for i in range(len(extra))]
    return pd.concat([demo, extra], ignore_index=True)


async def sidebar_pages(page) -> list[tuple[str, str]]:
    nav = page.get_by_test_id("stSidebarNavItems")
    await nav.locator('a[href$="/share"]').wait_for(timeout=PAGE_TIMEOUT_S * 1000)  # the whole menu is drawn
    return await nav.get_by_role("link").evaluate_all(
        "links => links.map(a => [a.getAttribute('href'), a.innerText.trim().split('\\n').pop().trim()])"
    )


async def click_through(
    page,
    runs: RunWatcher,
    items,
    label: str,
    filled: dict[str, float] | None = None,
    held: dict[str, float] | None = None,
    memory=None,
    since: dict[str, float] | None = None,
    uploaded_at: float | None = None,
    server_pid: int | None = None,
):
    """Seconds to idle per page; with `filled`, also the seconds until no part waits for a fit;
    with `held` and `memory` (MiB held now), the memory held once each page is done; with `since`
    and `uploaded_at` (perf_counter when the upload was read), the seconds from the upload until
    each page was complete (idle and filled in)."""
    nav = page.get_by_test_id("stSidebarNavItems")
    times: dict[str, float] = {}
    for href, title in items:
        began = time.perf_counter()
        try:
            seconds = await runs.timed(nav.locator(f'a[href="{href}"]').click)
        except TimeoutError:
            seconds = PAGE_TIMEOUT_S
        await asyncio.sleep(0.3)  # a page that reruns itself at once (a forwarded link) settles
        times[title] = round(seconds, 2)
        note = ""
        if filled is not None and await page.get_by_text(PENDING_TEXT).count():
            try:
                await page.wait_for_function(  # the line is gone and the rerun that replaced it has finished
                    f"() => !document.body.innerText.includes({PENDING_TEXT!r})"
                    " && !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                    timeout=PAGE_TIMEOUT_S * 1000,
                )
                filled[title] = round(time.perf_counter() - began, 2)
            except PlaywrightTimeout:
                filled[title] = PAGE_TIMEOUT_S
            note = f", filled {filled[title]:6.2f} s"
        if since is not None and uploaded_at is not None:
            since[title] = round(time.perf_counter() - uploaded_at, 2)
            note += f", complete {since[title]:6.1f} s after the upload"
        if held is not None and memory is not None:
            held[title] = round(memory(), 1)
            note += f", held {held[title]:7.1f} MiB"
            if BREAKDOWN and server_pid is not None:
                cached = cache_mib(page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2])
                kinds = {**resident_by_kind(server_pid), "st.cache_data": sum(cached.values())}
                note += " (" + ", ".join(f"{k} {v:.0f}" for k, v in kinds.items()) + ")"
                if title == items[-1][1]:  # after the last page: the largest cached results
                    note += "\n    cached MiB: " + ", ".join(f"{k} {v}" for k, v in list(cached.items())[:12])
        errors = await page.locator("[data-testid='stException']").count()
        print(
            f"  {label:<6} {title:<28} {seconds:6.2f} s{note}" + (f"  ({errors} exceptions)" if errors else ""),
            file=sys.stderr,
        )
    return times


async def scenario(browser, url: str, name: str, upload: Path | None, server_pid: int | None = None) -> dict:
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    runs = RunWatcher(page)
    began = time.perf_counter()
    painted: dict[str, float] = {}
    uploaded_at: float | None = None

    async def watch_paint() -> None:
        # first paint: the page title drawn; first answer: the first KPI card (a number on screen)
        for name, selector in (("first_paint_s", "h1"), ("first_figure_s", "[data-testid='stMetric']")):
            await page.locator(selector).first.wait_for(timeout=PAGE_TIMEOUT_S * 1000)
            painted[name] = round(time.perf_counter() - began, 2)

    async def go() -> None:
        await page.goto(url, timeout=PAGE_TIMEOUT_S * 1000, wait_until="commit")
        asyncio.get_running_loop().create_task(watch_paint())

    await runs.timed(go)
    first_load = time.perf_counter() - began
    print(
        f"  first paint {painted.get('first_paint_s', float('nan')):.2f} s, first figure "
        f"{painted.get('first_figure_s', float('nan')):.2f} s, idle {first_load:.2f} s (fresh server)",
        file=sys.stderr,
    )
    items = await sidebar_pages(page)
    if upload is not None:
        data_href = next(h for h, t in items if t == "Data")
        await runs.timed(page.get_by_test_id("stSidebarNavItems").locator(f'a[href="{data_href}"]').click)
        began = time.perf_counter()
        rss_before = tree_rss_mb(server_pid) if server_pid is not None else 0.0
        if BREAKDOWN and server_pid is not None:
            print(
                f"  before the upload: {rss_before:.0f} MiB resident ({resident_by_kind(server_pid)})", file=sys.stderr
            )
        await page.locator("input[type=file]").set_input_files(str(upload))
        await page.get_by_text("Rows used").first.wait_for(timeout=PAGE_TIMEOUT_S * 1000)
        # the sidebar describes the upload (ui.cache.build_upload): its data, not the demo's
        await page.get_by_text("Your upload (kept in this session only)").first.wait_for(timeout=PAGE_TIMEOUT_S * 1000)
        await page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=PAGE_TIMEOUT_S * 1000
        )
        uploaded_at = time.perf_counter()
        print(f"  upload read in {uploaded_at - began:.2f} s", file=sys.stderr)
    order = items[1:] + items[:1]  # every page, ending on Home
    filled: dict[str, float] = {}
    held: dict[str, float] = {}
    # the server and its worker process together: large fits run on the worker (ui.worker)
    memory = (lambda: tree_rss_mb(server_pid) - rss_before) if upload is not None and server_pid is not None else None
    since: dict[str, float] = {}
    first = await click_through(
        page, runs, order, "first", filled, held, memory, since if upload is not None else None, uploaded_at, server_pid
    )
    if memory is not None and server_pid is not None and SETTLE_S:
        waited = await settle(server_pid, SETTLE_S)
        held["settled"] = round(memory(), 1)
        kinds = resident_by_kind(server_pid)
        print(f"  settled after {waited:.0f} s more: held {held['settled']:7.1f} MiB ({kinds})", file=sys.stderr)
        ended = await worker_gone(server_pid, max(0.0, SETTLE_S - waited) + IDLE_EXIT_S + 10)
        if ended is not None and ended > 0:  # the worker process ended after its idle time: the session at rest
            held["at rest"] = round(memory(), 1)
            print(
                f"  the worker ended {ended:.0f} s later: held {held['at rest']:7.1f} MiB ({resident_by_kind(server_pid)})",
                file=sys.stderr,
            )
    if HOLD_S and server_pid is not None:
        pids = ", ".join(str(p) for p in process_tree(server_pid))
        print(f"  holding the session {HOLD_S:g} s (server and worker: {pids})", file=sys.stderr, flush=True)
        await asyncio.sleep(HOLD_S)
    again = await click_through(page, runs, order, "again") if AGAIN else {}
    await context.close()
    return {
        "scenario": name,
        "first_load_s": round(first_load, 2),
        **painted,
        "first": first,
        "filled": filled,
        "again": again,
        **({"held_mib": held} if held else {}),
        **({"upload_read_s": round(uploaded_at - began, 2), "complete_after_upload_s": since} if since else {}),
    }


async def main_async(names: list[str]) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        files = {"demo": None}
        if "upload10k" in names:
            path = Path(tmp) / "purchases_10k.csv"
            synthetic_purchases().to_csv(path, index=False)
            files["upload10k"] = path
        if "customers7k" in names:
            path = Path(tmp) / "customers_7k.csv"
            customers_7k().to_csv(path, index=False)
            files["customers7k"] = path
        for name in names:
            if name in SCALE_FILES:
                if not SCALE_FILES[name].exists():
                    raise SystemExit(f"no {SCALE_FILES[name]}: write it with benchmarks/bench_scale.py")
                files[name] = SCALE_FILES[name]
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for name in names:
                port = free_port()  # a fresh server per scenario: nothing cached from the previous one
                server = start_server(port, tmp)
                try:
                    print(f"{name}:", file=sys.stderr)
                    url = f"http://127.0.0.1:{port}"
                    results.append(await scenario(browser, url, name, files[name], server.pid))
                finally:
                    server.terminate()
                    server.wait(timeout=30)
            await browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="demo,upload10k,customers7k")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--first-only", action="store_true", help="skip the second pass (cached pages)")
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="after the first pass, up to this many s for the fits to end, then 'held'",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="with 'held': the server's resident MiB by kind (heap, arenas, anon, files)",
    )
    parser.add_argument(
        "--hold",
        type=float,
        default=0.0,
        help="keep the session open this many s after the first pass, e.g. to take a heap snapshot",
    )
    args = parser.parse_args()
    global AGAIN, BREAKDOWN, HOLD_S, SETTLE_S
    AGAIN = not args.first_only
    BREAKDOWN = args.breakdown
    SETTLE_S = args.settle
    HOLD_S = args.hold
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no Chromium at {CHROMIUM}")
    results = asyncio.run(main_async(args.scenarios.split(",")))
    for r in results:
        print(
            f"\n{r['scenario']}: fresh server: first paint {r.get('first_paint_s', float('nan')):.2f} s, first "
            f"figure {r.get('first_figure_s', float('nan')):.2f} s, Home idle {r['first_load_s']:.2f} s"
        )
        held = r.get("held_mib", {})
        since = r.get("complete_after_upload_s", {})
        print(
            f"{'page':<28}{'first':>8}{'filled':>8}{'again':>8}"
            + (f"{'held MiB':>10}" if held else "")
            + (f"{'done after upload':>19}" if since else "")
        )
        for page in r["first"]:
            again = r["again"].get(page, float("nan"))
            flag = "" if not again > BUDGET_S else f"  > {BUDGET_S:g} s"
            filled = f"{r['filled'][page]:>8.2f}" if page in r["filled"] else f"{'':>8}"
            mib = f"{held[page]:>10.1f}" if page in held else ""
            after = f"{since[page]:>19.1f}" if page in since else ""
            print(f"{page[:27]:<28}{r['first'][page]:>8.2f}{filled}{again:>8.2f}{mib}{after}{flag}")
        if "settled" in held:
            print(f"{'(fits done, all pages seen)':<52}{held['settled']:>10.1f}")
        if "at rest" in held:
            print(f"{'(and the worker ended, idle)':<52}{held['at rest']:>10.1f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
