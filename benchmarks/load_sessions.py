"""How many people can use one Keepwise server at once? N concurrent browser sessions on the demo data.

    python benchmarks/load_sessions.py                      # N = 1, 2, 4, 8, 12, 16
    python benchmarks/load_sessions.py --sizes 1,4 --json benchmarks/out/load.json

Starts the app on a free loopback port in 8520-8529, warms it with one session that visits every
page (so the shared demo caches are filled, as on a server that has been up for a while), then for
each N opens N fresh headless-Chromium contexts at the same moment; each loads the app and clicks
through every page listed in the sidebar (the pages app.py registers now).

Page render time = from the click (or the first load) until the browser receives the server's
"script finished" message for the page's full run (read from the app's websocket): the server's
work plus the network and browser round trip, not the drawing of charts after it.
Memory per session = (server RSS with the N sessions open - RSS before they opened) / N.

The browser runs on the same machine as the server, so on a 2-core machine N Chromium tabs compete
with the server for the CPU: the times are an upper bound for users on their own computers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from playwright.async_api import async_playwright
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.e2e import server as app_server  # noqa: E402  (the one way the browser tests start the app)
from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PORTS = range(8520, 8530)
BUDGET_S = 3.0
DEBUG_DIR = Path(os.environ["LOAD_DEBUG_DIR"]) if os.environ.get("LOAD_DEBUG_DIR") else None  # screenshots of timeouts
PAGE_TIMEOUT_S = 180.0


@dataclass
class Round:
    sessions: int
    renders: int
    p50_s: float
    p95_s: float
    max_s: float
    slowest_page: str
    errors: int
    rss_before_mb: float
    rss_after_mb: float
    mb_per_session: float
    page_median_s: dict[str, float]


def free_port() -> int:
    """A free loopback port in 8520-8529."""
    try:
        return app_server.free_port(PORTS)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from exc


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def process_tree(pid: int) -> list[int]:
    """`pid` and every process it started, recursively (/proc/PID/task/TID/children): the app server
    and its worker process (`ui.worker`, which runs the large fits as the report's worker does)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue.extend(int(child) for child in (task / "children").read_text().split())
            except OSError:  # the task ended meanwhile
                continue
    return found


def tree_rss_mb(pid: int) -> float:
    """Resident MiB of `pid` and its child processes together (see `process_tree`)."""
    total = 0.0
    for member in process_tree(pid):
        try:
            total += rss_mb(member)
        except (OSError, RuntimeError):  # ended meanwhile
            continue
    return total


def start_server(port: int, data_dir: str) -> subprocess.Popen:
    """The app on `port`, its share store in `data_dir`; sessions forgotten 2 s after their tab closes."""
    try:
        return app_server.start_app(
            port, env={"KEEPWISE_DATA_DIR": data_dir}, args=("--server.disconnectedSessionTTL", "2")
        )
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from exc


class RunWatcher:
    """Counts full script runs of one browser page, from the app's websocket messages."""

    def __init__(self, page) -> None:
        self.finished = 0
        self.at = 0.0
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        if not isinstance(payload, bytes):
            return
        msg = ForwardMsg()
        try:
            msg.ParseFromString(payload)
        except Exception:
            return
        if msg.WhichOneof("type") == "script_finished" and msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
            self.finished += 1
            self.at = time.perf_counter()

    async def timed(self, action) -> float:
        """Seconds from starting `action` until the next full script run has finished."""
        before, began = self.finished, time.perf_counter()
        await action()
        while self.finished == before:
            if time.perf_counter() - began > PAGE_TIMEOUT_S:
                raise TimeoutError
            await asyncio.sleep(0.01)
        return self.at - began


async def session(browser, url: str, start: asyncio.Event) -> tuple[list[tuple[str, float, int]], object]:
    """One person: open the app, then click every page in the sidebar. ([(page, seconds, errors)], context)."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    runs = RunWatcher(page)
    await start.wait()
    results = [("Home (first load)", await runs.timed(lambda: page.goto(url, timeout=PAGE_TIMEOUT_S * 1000)), 0)]
    nav = page.get_by_test_id("stSidebarNavItems")
    items = await nav.get_by_role("link").evaluate_all(
        "links => links.map(a => [a.getAttribute('href'), a.innerText.trim().split('\\n').pop().trim()])"
    )
    for href, title in items[1:] + items[:1]:  # every page, ending back on Home
        try:
            seconds = await runs.timed(nav.locator(f'a[href="{href}"]').click)
        except TimeoutError:  # counted as an error and as the timeout, so it cannot pass the budget
            seconds, errors = PAGE_TIMEOUT_S, 1
            print(f"  timeout on {title} at {page.url}", file=sys.stderr)
            if DEBUG_DIR:
                await page.screenshot(path=str(DEBUG_DIR / f"timeout-{title[:20]}-{time.time():.0f}.png"))
        else:
            errors = await page.locator("[data-testid='stException']").count()
        results.append((title, seconds, errors))
    return results, context


async def run_round(browser, url: str, n: int) -> tuple[list[tuple[str, float, int]], list]:
    start = asyncio.Event()
    tasks = [asyncio.create_task(session(browser, url, start)) for _ in range(n)]
    await asyncio.sleep(2)  # every context is open before anyone loads the app
    start.set()
    done = await asyncio.gather(*tasks)
    return [r for results, _ in done for r in results], [context for _, context in done]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def main_async(sizes: list[int], budget: float) -> list[Round]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_server(port, data_dir)
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                print(f"warming the server on {url} (one session through every page) ...", file=sys.stderr)
                warm, contexts = await run_round(browser, url, 1)
                for context in contexts:
                    await context.close()
                print(f"  warm-up took {sum(s for _, s, _ in warm):.0f} s over {len(warm)} pages", file=sys.stderr)
                for n in sizes:
                    await asyncio.sleep(6)  # closed sessions are dropped after the 2 s TTL
                    before = rss_mb(server.pid)
                    renders, contexts = await run_round(browser, url, n)
                    after = rss_mb(server.pid)
                    for context in contexts:
                        await context.close()
                    seconds = [s for _, s, _ in renders]
                    slowest = max(renders, key=lambda r: r[1])
                    rounds.append(
                        Round(
                            sessions=n,
                            renders=len(renders),
                            p50_s=round(statistics.median(seconds), 2),
                            p95_s=round(percentile(seconds, 0.95), 2),
                            max_s=round(max(seconds), 2),
                            slowest_page=slowest[0],
                            errors=sum(e for _, _, e in renders),
                            rss_before_mb=round(before, 1),
                            rss_after_mb=round(after, 1),
                            mb_per_session=round((after - before) / n, 1),
                            page_median_s={
                                page: round(statistics.median(s for p, s, _ in renders if p == page), 2)
                                for page in dict.fromkeys(p for p, _, _ in renders)
                            },
                        )
                    )
                    print(f"  N={n}: {rounds[-1]}", file=sys.stderr)
                    if rounds[-1].p50_s > 4 * budget:
                        print(f"  stopping: the median render is over {4 * budget:.0f} s", file=sys.stderr)
                        break
                await browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,2,4,8,12,16", help="numbers of concurrent sessions")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="render-time budget in seconds")
    parser.add_argument("--json", type=Path, help="also write the rounds as JSON here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no Chromium at {CHROMIUM}")
    rounds = asyncio.run(main_async(sizes, args.budget))

    print(
        f"{'N':>3} {'renders':>7} {'p50 s':>6} {'p95 s':>6} {'max s':>6}  {'MB/session':>10}  {'errors':>6}  slowest page"
    )
    for r in rounds:
        print(
            f"{r.sessions:>3} {r.renders:>7} {r.p50_s:>6.2f} {r.p95_s:>6.2f} {r.max_s:>6.2f}  {r.mb_per_session:>10.1f}"
            f"  {r.errors:>6}  {r.slowest_page}"
        )
    pages = list(rounds[0].page_median_s) if rounds else []
    print("\nmedian render per page (s):")
    print(f"{'page':<28}" + "".join(f"{'N=' + str(r.sessions):>7}" for r in rounds))
    for page in pages:
        print(f"{page[:27]:<28}" + "".join(f"{r.page_median_s.get(page, float('nan')):>7.2f}" for r in rounds))
    fitting = [r.sessions for r in rounds if r.p95_s < args.budget]
    print(f"largest N with 95% of page renders under {args.budget:g} s: {max(fitting) if fitting else 'none'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in rounds], indent=2))


if __name__ == "__main__":
    main()
