"""A self-contained HTML report of the current findings: KPIs, charts, top actions, what-if.

Offline by design. The report is meant to be mailed after a workshop and opened anywhere,
including machines without internet access, and it carries customer data, so it must not call
third-party servers when opened. Rendering the Altair charts with vega-embed would need the Vega
JavaScript from a CDN (nothing renders offline), and altair's `to_html(inline=True)` needs the
`vl-convert-python` package, which is not installed. So each chart is redrawn here as **inline
SVG** from its own Vega-Lite spec (bar, line, point, rect heatmap, with rules and text overlays:
the marks our chart builders use), with native hover titles, plus the chart's data as a table
under a "Data" disclosure. The Vega-Lite spec is embedded as inert JSON (not executed) when it is
small, so anyone online can reopen the chart in the Vega editor. Charts the SVG renderer cannot
draw still show their data table.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from analytics.business.kpis import KPI, KPIReport
from analytics.formatting import money

MAX_TABLE_ROWS = 40
MAX_SVG_POINTS = 3000
MAX_EMBEDDED_SPEC = 200_000  # characters
PALETTE = ("#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac")
W, H = 720, 300
ML, MR, MT, MB = 150, 160, 36, 56  # margins: left (band labels), right (legend), top, bottom

_e = html.escape


# --------------------------------------------------------------------------------------------
# Number formatting
# --------------------------------------------------------------------------------------------


def format_value(value: float | None, unit: str, currency: str = "", code: str | None = None) -> str:
    """A KPI value for people: shares as %, currency with thousands separators, counts whole.

    `code` (ISO 4217) formats money with its symbol ('€1,234'); otherwise `currency` is put in front.

    Parameters
    ----------
    value : float or None
        The value.
    unit : str
        The KPI's unit ('share', 'currency', 'customers', ...).
    currency : str
        Text put before money when no code is known.
    code : str, optional
        ISO 4217 code of money.

    Returns
    -------
    str
        The text ('n/a' for a missing value).
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "currency":
        return money(value, code) if code else f"{currency}{money(value)}"
    if unit == "customers":
        return f"{value:,.0f}"
    if unit == "ratio":
        return f"{value:.1f}:1"
    if unit == "score":
        return f"{value:.1f}"
    if unit in ("months", "quarters", "years", "periods", "hours", "days"):
        return f"{value:,.1f} {unit}"
    if unit == "per day":
        return f"{value:,.2f} per day"
    return f"{value:,.2f}"


def format_change(kpi: KPI, currency: str = "", code: str | None = None) -> str:
    """ "+2.1 pp vs 2025-11" style text, or "" without a previous value.

    Parameters
    ----------
    kpi : KPI
        A KPI with its previous value.
    currency : str
        Text put before money when no code is known.
    code : str, optional
        ISO 4217 code of money.

    Returns
    -------
    str
        The change in words.
    """
    if kpi.change is None:
        return ""
    sign = "+" if kpi.change >= 0 else "-"
    if kpi.unit == "share":
        amount = f"{sign}{abs(kpi.change) * 100:.1f} pp"
    else:
        amount = sign + format_value(abs(kpi.change), kpi.unit, currency, code)
        rel = kpi.relative_change
        if rel is not None:
            amount += f" ({rel:+.1%})"
    return f"{amount} vs {kpi.previous_period}" if kpi.previous_period else amount


def _d3_format(value: Any, fmt: str | None) -> str:
    """The subset of d3-format / strftime used by our charts (".1%", ",.0f", "%b %Y")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime(fmt or "%Y-%m-%d")
    if not isinstance(value, (int, float, np.number)):
        return str(value)
    v = float(value)
    if fmt and fmt.endswith("%"):
        digits = "".join(ch for ch in fmt if ch.isdigit()) or "0"
        return f"{v * 100:.{int(digits)}f}%"
    if fmt and fmt.endswith("f"):
        digits = fmt.split(".")[-1][:-1] if "." in fmt else "0"
        return f"{v:{',' if ',' in fmt else ''}.{int(digits or 0)}f}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"


# --------------------------------------------------------------------------------------------
# Minimal Vega-Lite -> SVG
# --------------------------------------------------------------------------------------------


def _rows(view: Mapping[str, Any], spec: Mapping[str, Any], inherited: Any) -> list[dict[str, Any]] | None:
    data = view.get("data", inherited)
    if not isinstance(data, Mapping):
        return None
    if "values" in data:
        return list(data["values"])
    if "name" in data:
        return list(spec.get("datasets", {}).get(data["name"], []))
    return None


def _views(spec: Mapping[str, Any]) -> list[tuple[str, dict[str, Any], list[dict[str, Any]], Mapping[str, Any]]]:
    """(mark type, encoding, rows, mark properties) for a single view or a one-level layer."""
    top_data = spec.get("data")
    candidates = spec.get("layer", [spec])
    out = []
    for view in candidates:
        mark = view.get("mark")
        mtype = mark.get("type") if isinstance(mark, Mapping) else mark
        rows = _rows(view, spec, top_data)
        if mtype is None or rows is None:
            continue
        out.append((str(mtype), dict(view.get("encoding", {})), rows, mark if isinstance(mark, Mapping) else {}))
    return out


class _Scale:
    """Linear (quantitative / temporal) or band (nominal / ordinal) scale onto [lo, hi] pixels."""

    def __init__(self, channel: Mapping[str, Any], values: list[Any], lo: float, hi: float, *, zero: bool) -> None:
        self.field = channel["field"]
        self.kind = channel.get("type", "nominal")
        self.lo, self.hi = lo, hi
        axis = channel.get("axis") or {}
        self.fmt = axis.get("format") if isinstance(axis, Mapping) else None
        scale = channel.get("scale") or {}
        if self.kind in ("quantitative", "temporal"):
            nums = [x for x in (self._num(v) for v in values) if x is not None and math.isfinite(x)]
            given = [self._num(v) for v in scale["domain"]] if isinstance(scale.get("domain"), list) else []
            d0: float
            d1: float
            if len(given) == 2 and given[0] is not None and given[1] is not None:
                d0, d1 = given[0], given[1]
            else:
                d0, d1 = (min(nums), max(nums)) if nums else (0.0, 1.0)
                if self.kind == "quantitative" and zero and scale.get("zero", True) is not False:
                    d0, d1 = min(d0, 0.0), max(d1, 0.0)
            if d1 == d0:
                d0, d1 = d0 - 1, d1 + 1
            self.d0, self.d1 = d0, d1
            self.band = 0.0
        else:
            order = channel.get("sort")
            seen = list(dict.fromkeys(str(v) for v in values))
            if isinstance(order, list):
                self.domain = [str(v) for v in order if str(v) in seen] + [v for v in seen if v not in map(str, order)]
            else:
                self.domain = sorted(seen, key=_natural_key)
            self.band = (hi - lo) / max(len(self.domain), 1)

    def _num(self, v: Any) -> float | None:
        if v is None:
            return None
        if self.kind == "temporal":
            ts = pd.Timestamp(v)
            return None if pd.isna(ts) else ts.timestamp()
        try:
            return float(v)
        except (TypeError, ValueError):
            return None

    @property
    def linear(self) -> bool:
        return self.kind in ("quantitative", "temporal")

    def __call__(self, v: Any) -> float | None:
        if self.linear:
            x = self._num(v)
            if x is None or not math.isfinite(x):
                return None
            return self.lo + (x - self.d0) / (self.d1 - self.d0) * (self.hi - self.lo)
        s = str(v)
        if s not in self.domain:
            return None
        return self.lo + self.domain.index(s) * self.band

    def at(self, v: Any) -> float:
        """Pixel position of a value that must be on the scale (e.g. 0 on a linear axis)."""
        position = self(v)
        if position is None:
            raise ValueError(f"{v!r} is not on the {self.field!r} scale")
        return position

    def ticks(self) -> list[tuple[float, str]]:
        if not self.linear:
            every = max(1, math.ceil(len(self.domain) / 30))
            return [(x + self.band / 2, v) for v in self.domain[::every] if (x := self(v)) is not None]
        if self.kind == "temporal":
            stamps = pd.date_range(pd.Timestamp(self.d0, unit="s"), pd.Timestamp(self.d1, unit="s"), periods=5)
            return [(x, t.strftime(self.fmt or "%b %Y")) for t in stamps if (x := self(t)) is not None]
        raw = (self.d1 - self.d0) / 4
        mag: float = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
        step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
        first = math.ceil(self.d0 / step) * step
        values = [first + i * step for i in range(12) if first + i * step <= self.d1 + 1e-9]
        return [(x, _d3_format(v, self.fmt)) for v in values if (x := self(v)) is not None]


def _natural_key(s: str) -> tuple[int, Any]:
    try:
        return (0, float(s))
    except ValueError:
        return (1, s)


def _colour_scale(channel: Mapping[str, Any] | None, rows: list[dict[str, Any]]):
    """Returns (function row -> colour, legend entries [(label, colour)] or gradient text)."""
    if not channel or "field" not in channel:
        value = channel.get("value") if channel else None
        return (lambda row: value or PALETTE[0]), []
    field = channel["field"]
    scale = channel.get("scale") or {}
    if channel.get("type") == "quantitative":
        squash = math.log1p if scale.get("type") in ("log", "symlog", "sqrt", "pow") else float
        vals = [float(r[field]) for r in rows if r.get(field) is not None and _finite(r[field])]
        lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
        slo, shi = (
            squash(max(lo, 0.0)) if squash is not float else lo,
            squash(max(hi, 0.0)) if squash is not float else hi,
        )
        scheme = str(scale.get("scheme", "blues"))
        if scheme == "redblue":
            m = max(abs(lo), abs(hi)) or 1.0

            def diverging(row: dict[str, Any]) -> str:
                t = float(row.get(field) or 0.0) / m
                return _mix("#f7f7f7", "#b2182b" if t > 0 else "#2166ac", min(abs(t), 1.0))

            return diverging, [("low", "#2166ac"), ("0", "#f7f7f7"), ("high", "#b2182b")]
        end = "#d94801" if scheme == "oranges" else "#08519c"

        def sequential(row: dict[str, Any]) -> str:
            v = row.get(field)
            if v is None or not _finite(v):
                return "#ffffff"
            t = squash(max(float(v), 0.0)) if squash is not float else float(v)
            return _mix("#f7fbff", end, (t - slo) / (shi - slo) if shi > slo else 1.0)

        fmt = (channel.get("legend") or {}).get("format") if isinstance(channel.get("legend"), Mapping) else None
        return sequential, [(_d3_format(lo, fmt), "#f7fbff"), (_d3_format(hi, fmt), end)]
    domain = scale.get("domain") or channel.get("sort")
    cats = (
        [str(v) for v in domain]
        if isinstance(domain, list)
        else sorted({str(r.get(field)) for r in rows}, key=_natural_key)
    )
    given_range = scale.get("range")
    rng = given_range if isinstance(given_range, list) else list(PALETTE)
    colours = {c: rng[i % len(rng)] for i, c in enumerate(cats)}
    legend = [] if channel.get("legend", {}) is None else [(c, colours[c]) for c in cats]
    return (lambda row: colours.get(str(row.get(field)), "#999999")), legend


def _finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _mix(a: str, b: str, t: float) -> str:
    t = min(max(t, 0.0), 1.0)
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb, strict=True))


def _tooltip(row: dict[str, Any], encoding: Mapping[str, Any]) -> str:
    items = encoding.get("tooltip") or []
    if isinstance(items, Mapping):
        items = [items]
    parts = []
    for item in items:
        if not isinstance(item, Mapping) or "field" not in item:
            continue
        value = row.get(item["field"])
        if item.get("type") == "temporal" and value is not None:
            value = pd.Timestamp(value)
        parts.append(f"{item.get('title', item['field'])}: {_d3_format(value, item.get('format'))}")
    return f"<title>{_e(chr(10).join(parts))}</title>" if parts else ""


def _title_text(title: Any) -> str:
    if isinstance(title, Mapping):
        title = title.get("text", "")
    if isinstance(title, list):
        title = " ".join(map(str, title))
    return str(title or "")


def chart_to_svg(chart: Any) -> str | None:
    """Inline SVG of an Altair chart (or a Vega-Lite dict).

    Returns None when the chart uses features this renderer does not draw (facets, concatenation,
    transforms, aggregates, arcs...).

    Parameters
    ----------
    chart : alt.Chart or dict
        The chart or its Vega-Lite spec.

    Returns
    -------
    str or None
        The <svg> element.
    """
    spec = chart if isinstance(chart, Mapping) else chart.to_dict()
    if any(k in spec for k in ("facet", "hconcat", "vconcat", "concat", "repeat", "transform")):
        return None
    views = _views(spec)
    primary = next(
        (
            v
            for v in views
            if v[0] in ("bar", "line", "area", "point", "circle", "square", "rect")
            and "field" in v[1].get("x", {})
            and "field" in v[1].get("y", {})
        ),
        None,
    )
    if primary is None or any("aggregate" in ch for ch in primary[1].values() if isinstance(ch, Mapping)):
        return None
    mark, enc, rows, mark_props = primary
    if len(rows) > MAX_SVG_POINTS:
        rows = rows[:MAX_SVG_POINTS]
    xs_ch, ys_ch = enc["x"], enc["y"]
    zero = mark in ("bar", "area")
    x = _Scale(xs_ch, [r.get(xs_ch["field"]) for r in rows], ML, W - MR, zero=zero)
    rotate = not x.linear and (len(x.domain) > 12 or sum(len(v) for v in x.domain) * 6.5 > W - ML - MR)
    mb = min(160, 40 + 5.5 * max(len(v) for v in x.domain)) if rotate else MB
    y_band = ys_ch.get("type") in ("nominal", "ordinal")
    n_y = len({str(r.get(ys_ch["field"])) for r in rows}) if y_band else 0
    height = max(H, min(900, 16 * n_y + MT + mb)) if y_band else H - MB + mb
    base = height - mb  # pixel row of the x axis
    y_values = [r.get(ys_ch["field"]) for r in rows]
    # linear y runs bottom to top, band y top to bottom
    y = _Scale(ys_ch, y_values, MT, base, zero=zero) if y_band else _Scale(ys_ch, y_values, base, MT, zero=zero)
    colour, legend = _colour_scale(enc.get("color"), rows)
    body: list[str] = []
    body += _axes(x, y, height, base, rotate, xs_ch, ys_ch)
    body += _draw(mark, mark_props, rows, x, y, colour, enc)
    for other in views:
        if other is primary:
            continue
        body += _overlay(other, x, y, base)
    body += _legend(legend, enc.get("color"))
    title = _title_text(spec.get("title") or (spec.get("layer") or [{}])[0].get("title"))
    head = f'<text x="{W / 2}" y="18" text-anchor="middle" class="t">{_e(title)}</text>' if title else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" width="100%" '
        f'role="img" aria-label="{_e(title)}" class="chart">{head}{"".join(body)}</svg>'
    )


def _axes(
    x: _Scale, y: _Scale, height: float, base: float, rotate: bool, xs: Mapping[str, Any], ys: Mapping[str, Any]
) -> list[str]:
    out = [
        f'<line x1="{ML}" y1="{base}" x2="{W - MR}" y2="{base}" class="ax"/>',
        f'<line x1="{ML}" y1="{MT}" x2="{ML}" y2="{base}" class="ax"/>',
    ]
    for px, label in x.ticks():
        if rotate:
            out.append(
                f'<text x="{px:.1f}" y="{base + 8}" class="l" text-anchor="end" transform="rotate(-60 {px:.1f} {base + 8})">{_e(label)}</text>'
            )
        else:
            out.append(f'<text x="{px:.1f}" y="{base + 16}" class="l" text-anchor="middle">{_e(label)}</text>')
    for py, label in y.ticks():
        out.append(f'<text x="{ML - 6}" y="{py + 4:.1f}" class="l" text-anchor="end">{_e(label)}</text>')
        if y.linear:
            out.append(f'<line x1="{ML}" y1="{py:.1f}" x2="{W - MR}" y2="{py:.1f}" class="g"/>')
    x_title, y_title = _title_text(xs.get("title", xs["field"])), _title_text(ys.get("title", ys["field"]))
    if x_title:
        out.append(
            f'<text x="{(ML + W - MR) / 2}" y="{height - 8}" text-anchor="middle" class="at">{_e(str(x_title))}</text>'
        )
    if y_title:
        mid = (MT + base) / 2
        out.append(
            f'<text x="12" y="{mid}" text-anchor="middle" class="at" transform="rotate(-90 12 {mid})">{_e(str(y_title))}</text>'
        )
    return out


def _draw(
    mark: str, props: Mapping[str, Any], rows: list[dict[str, Any]], x: _Scale, y: _Scale, colour, enc
) -> list[str]:
    fx, fy = x.field, y.field
    out: list[str] = []
    if mark == "rect":
        for r in rows:
            px, py = x(r.get(fx)), y(r.get(fy))
            if px is None or py is None:
                continue
            w = x.band or 4
            h = y.band or 4
            out.append(
                f'<rect x="{px:.1f}" y="{py:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{colour(r)}">{_tooltip(r, enc)}</rect>'
            )
    elif mark == "bar":
        for r in rows:
            px, py = x(r.get(fx)), y(r.get(fy))
            if px is None or py is None:
                continue
            if not y.linear:  # horizontal bars
                x0 = x.at(0) if x.linear else x.lo
                out.append(
                    f'<rect x="{min(x0, px):.1f}" y="{py + y.band * 0.1:.1f}" width="{abs(px - x0):.1f}" height="{y.band * 0.8:.1f}" fill="{colour(r)}">{_tooltip(r, enc)}</rect>'
                )
            else:
                y0 = y.at(0)
                bw = x.band * 0.8 if not x.linear else 6
                left = px + x.band * 0.1 if not x.linear else px - 3
                out.append(
                    f'<rect x="{left:.1f}" y="{min(y0, py):.1f}" width="{bw:.1f}" height="{abs(y0 - py):.1f}" fill="{colour(r)}">{_tooltip(r, enc)}</rect>'
                )
    elif mark in ("line", "area"):
        cf = (enc.get("color") or {}).get("field")
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault(str(r.get(cf)) if cf else "", []).append(r)
        for series in groups.values():
            placed = [(x(r.get(fx)), y(r.get(fy)), r) for r in series]
            pts = sorted(((px, py, r) for px, py, r in placed if px is not None and py is not None), key=lambda p: p[0])
            if not pts:
                continue
            offset = x.band / 2 if not x.linear else 0
            path = " ".join(f"{px + offset:.1f},{py:.1f}" for px, py, _ in pts)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour(pts[0][2])}" stroke-width="2"/>')
            if props.get("point"):
                out += [
                    f'<circle cx="{px + offset:.1f}" cy="{py:.1f}" r="3" fill="{colour(r)}">{_tooltip(r, enc)}</circle>'
                    for px, py, r in pts
                ]
    else:  # point / circle / square
        for r in rows:
            px, py = x(r.get(fx)), y(r.get(fy))
            if px is None or py is None:
                continue
            px += x.band / 2
            py += y.band / 2
            out.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{colour(r)}" fill-opacity="0.65">{_tooltip(r, enc)}</circle>'
            )
    return out


def _overlay(view: tuple[Any, ...], x: _Scale, y: _Scale, base: float) -> list[str]:
    """Rules (threshold lines) and text labels drawn over the primary view."""
    mark, enc, rows, props = view
    out: list[str] = []
    for r in rows:
        if mark == "rule":
            if "x" in enc and "field" in enc["x"] and x.linear and "y" not in enc:
                px = x(r.get(enc["x"]["field"]))
                if px is not None:
                    out.append(f'<line x1="{px:.1f}" y1="{MT}" x2="{px:.1f}" y2="{base}" class="rule"/>')
            elif "y" in enc and "field" in enc["y"] and y.linear and "x" not in enc:
                py = y(r.get(enc["y"]["field"]))
                if py is not None:
                    out.append(f'<line x1="{ML}" y1="{py:.1f}" x2="{W - MR}" y2="{py:.1f}" class="rule"/>')
        elif mark == "text" and "text" in enc and "field" in enc.get("x", {}) and "field" in enc.get("y", {}):
            px, py = x(r.get(enc["x"]["field"])), y(r.get(enc["y"]["field"]))
            if px is not None and py is not None:
                anchor = {"right": "end", "left": "start"}.get(props.get("align", "center"), "middle")
                fill = props.get("color", "#333")
                dy = 12 if props.get("baseline") == "top" else 4
                label = _d3_format(r.get(enc["text"]["field"], ""), enc["text"].get("format"))
                out.append(
                    f'<text x="{px + x.band / 2:.1f}" y="{py + y.band / 2 + dy:.1f}" text-anchor="{anchor}" '
                    f'fill="{_e(str(fill))}" font-size="11">{_e(label)}</text>'
                )
    return out


def _legend(entries: list[tuple[str, str]], channel: Mapping[str, Any] | None) -> list[str]:
    if not entries:
        return []
    title = (channel or {}).get("title", (channel or {}).get("field", ""))
    out = [f'<text x="{W - MR + 12}" y="{MT + 4}" class="at">{_e(str(title))}</text>']
    for i, (label, fill) in enumerate(entries[:16]):
        yy = MT + 18 + i * 16
        out.append(f'<rect x="{W - MR + 12}" y="{yy - 9}" width="10" height="10" fill="{fill}" stroke="#ccc"/>')
        out.append(f'<text x="{W - MR + 27}" y="{yy}" class="l">{_e(label)}</text>')
    return out


# --------------------------------------------------------------------------------------------
# Report assembly
# --------------------------------------------------------------------------------------------


_CSS = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1000px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #eee;padding-bottom:.3rem;margin-top:2.2rem}
.meta{color:#666}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:.8rem}
.card{border:1px solid #ddd;border-radius:8px;padding:.7rem .9rem;background:#fafafa}
.card .v{font-size:1.6rem;font-weight:600}.card .k{font-size:.9rem;color:#444}.card .d{font-size:.75rem;color:#777}
.up,.card .d.up{color:#2e7d32;font-weight:600}.down,.card .d.down{color:#c62828;font-weight:600}.flat{color:#666}.na{color:#999;font-size:1rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left}
th{background:#f3f3f3}td.n{text-align:right}svg.chart{max-width:100%;height:auto;background:#fff}
svg .t{font-size:14px;font-weight:600}svg .l{font-size:10px;fill:#444}svg .at{font-size:11px;fill:#222}
svg .ax{stroke:#888}svg .g{stroke:#eee}svg .rule{stroke:#555;stroke-dasharray:4 4}
details{margin:.3rem 0 1rem}summary{cursor:pointer;color:#555}.tw{overflow-x:auto;max-width:100%}
.brief{border-bottom:3px solid #0F766E;padding-bottom:1rem;margin-bottom:1.5rem}
.headline{font-size:1.45rem;line-height:1.35;margin:.8rem 0 1rem}.headline strong{color:#0F766E}
.brief .cards{grid-template-columns:repeat(auto-fit,minmax(170px,1fr))}.brief .card .d.def{display:none}
ol.recs{padding-left:1.3rem;margin:.4rem 0}ol.recs li{margin:.45rem 0;line-height:1.35}
ol.recs .stake{display:inline-block;background:#E6F4F1;color:#0B5E58;font-weight:700;border-radius:4px;padding:0 .4rem;margin-left:.3rem}
ol.recs .why{color:#555;font-size:.9rem}
.scenario{display:grid;grid-template-columns:minmax(240px,1fr) 2fr;gap:1rem;align-items:start}
.scenario table{font-size:.8rem}.brief h2{margin-top:1.2rem}
button.print{float:right;border:1px solid #0F766E;background:#0F766E;color:#fff;border-radius:6px;padding:.35rem .8rem;cursor:pointer}
@media (max-width:640px){.scenario{grid-template-columns:1fr}.headline{font-size:1.15rem}body{margin:1rem auto}}
@page{margin:12mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:10.5pt}button.print{display:none}
.brief{break-after:page;border-bottom:none}.headline{font-size:15pt}.card .v{font-size:14pt}
section,.card,tr,ol.recs li,.scenario{break-inside:avoid}h2,h3{break-after:avoid}
details>summary{display:none}details{display:block}svg.chart{max-height:80mm}.brief svg.chart{max-height:62mm}
.brief .cards{grid-template-columns:repeat(4,1fr)}.scenario{grid-template-columns:1fr 1.3fr}.scenario table{font-size:8pt}
.brief h2{margin-top:.8rem}.tw{overflow:visible}.tw table{font-size:7.5pt}td,th{overflow-wrap:anywhere}}
"""


def _kpi_cards(
    kpis: Sequence[KPI], currency: str, code: str | None = None, labels: Mapping[str, str] | None = None
) -> str:
    cards = []
    for k in kpis:
        if k.value is None:
            value = f'<div class="v na">n/a</div><div class="d">Needs {_e(k.missing or "more data")}</div>'
        else:
            change = format_change(k, currency, code)
            cls = "flat"
            if k.change and k.higher_is_better is not None:
                cls = "up" if (k.change > 0) == k.higher_is_better else "down"
            bench = f'<div class="d">Rule of thumb: {format_value(k.benchmark, k.unit)}</div>' if k.benchmark else ""
            value = (
                f'<div class="v">{_e(format_value(k.value, k.unit, currency, code))}</div>'
                f'<div class="d {cls}">{_e(change)}</div>{bench}'
            )
        cards.append(
            f'<div class="card" title="{_e(k.definition)}" data-kpi="{_e(k.key)}">'
            f'<div class="k">{_e((labels or {}).get(k.key, k.label))}</div>{value}<div class="d def">{_e(k.definition)}</div></div>'
        )
    return f'<div class="cards">{"".join(cards)}</div>'


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return "<td></td>"
        text = f"{value:,.0f}" if abs(float(value)) >= 1000 else f"{value:,.4g}"
        return f'<td class="n">{text}</td>'
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f'<td class="n">{value:,}</td>'
    if value is None or (isinstance(value, pd.Timestamp) and pd.isna(value)):
        return "<td></td>"
    if isinstance(value, pd.Timestamp):
        return f"<td>{_e(value.strftime('%Y-%m-%d'))}</td>"
    return f"<td>{_e(str(value))}</td>"


def frame_to_html(frame: pd.DataFrame, *, max_rows: int = MAX_TABLE_ROWS) -> str:
    """An escaped HTML table of the first `max_rows` rows (with a note when cut).

    Parameters
    ----------
    frame : pd.DataFrame
        The table.
    max_rows : int
        Most rows shown.

    Returns
    -------
    str
        The <table> element.
    """
    head = "".join(f"<th>{_e(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in frame.head(max_rows).itertuples(index=False)
    )
    note = f'<p class="meta">First {max_rows} of {len(frame):,} rows.</p>' if len(frame) > max_rows else ""
    # wrapped: a wide table scrolls inside its box on a phone instead of widening the whole page
    return f'<div class="tw"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{note}'


def _chart_block(name: str, chart: Any) -> str:
    spec = chart if isinstance(chart, Mapping) else chart.to_dict()
    try:
        svg = chart_to_svg(spec)
    except (KeyError, TypeError, ValueError, IndexError):
        svg = None
    views = _views(spec)
    table = ""
    if views:
        rows = max((v[2] for v in views), key=len)
        table = f"<details><summary>Data</summary>{frame_to_html(pd.DataFrame(rows))}</details>"
    figure = svg or '<p class="meta">This chart type is shown as its data table below.</p>'
    text = json.dumps(spec, default=str)
    embedded = ""
    if len(text) <= MAX_EMBEDDED_SPEC:
        safe = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        embedded = f'<script type="application/json" class="vega-lite-spec">{safe}</script>'
    return f"<section><h3>{_e(name)}</h3>{figure}{table}{embedded}</section>"


def _humanise(key: str) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _scenario_html(scenario: Mapping[str, Any]) -> str:
    rows = []
    for key, value in scenario.items():
        if isinstance(value, Mapping):
            inner = "; ".join(f"{_humanise(k)}: {_plain(v)}" for k, v in value.items())
            rows.append(f"<tr><th>{_e(_humanise(key))}</th><td>{_e(inner)}</td></tr>")
        else:
            rows.append(f"<tr><th>{_e(_humanise(key))}</th><td>{_e(_plain(value))}</td></tr>")
    return f"<table>{''.join(rows)}</table>"


def _bold(text: str) -> str:
    """Escape `text`, then turn ``**x**`` into <strong>x</strong> (the only markup allowed)."""
    pieces = _e(text).split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(pieces))


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def build_html_report(
    *,
    kpis: KPIReport | Sequence[KPI],
    charts: Mapping[str, Any] | Sequence[tuple[str, Any]] = (),
    actions: pd.DataFrame | None = None,
    scenario: Mapping[str, Any] | None = None,
    title: str = "Customer health report",
    dataset: str = "",
    currency: str = "",
    top_actions: int = 20,
    notes: Sequence[str] = (),
    generated_at: datetime | None = None,
    headline: str = "",
    headline_kpis: Sequence[str] = (),
    recommendations: Sequence[Any] = (),
    scenario_chart: Any = None,
    currency_code: str | None = None,
    kpi_labels: Mapping[str, str] | None = None,
) -> str:
    """A self-contained HTML page (no external scripts, styles, fonts or images).

    Parameters
    ----------
    kpis : KPIReport or KPIs; rendered as cards with value, change vs the previous period, the
        definition (also on hover), and for missing KPIs the column that would enable them.
    charts : {title: Altair chart} or [(title, chart)]; drawn as inline SVG + data table.
    actions : action list (`analytics.business.actions.action_list`); the first `top_actions` rows.
    scenario : what-if summary, e.g. {"retention_lift": 0.05, "value_of_lift": 123456.0}.
    currency : symbol put before money values ("", "$", "EUR ").
    headline, headline_kpis, recommendations, scenario_chart : the executive brief on page one
        (printed alone on the first page): the headline sentence (``**bold**`` allowed), the KPI
        keys shown as cards beside it, up to three `analytics.reports.story.Recommendation`
        (action, why, value), and the what-if's chart beside the scenario. Without them the
        report starts with the detail, as before.
    currency_code : ISO 4217 code for money values ('€1,234'); overrides `currency`.
    kpi_labels : {KPI key: card label} for the brief's cards (`analytics.reports.story.card_label`, as
        on Home); other cards keep the KPI's own label.

    Returns
    -------
    str : the HTML document (UTF-8 text).
    """
    kpi_list = list(kpis.kpis) if isinstance(kpis, KPIReport) else list(kpis)
    when = (generated_at or datetime.now()).strftime("%Y-%m-%d %H:%M")
    meta = [f"Generated {when}"]
    if dataset:
        meta.append(f"data: {dataset}")
    if isinstance(kpis, KPIReport) and kpis.current_period:
        compare = f"{kpis.period} {kpis.current_period}"
        if kpis.previous_period:
            compare += f" compared with {kpis.previous_period}"
        meta.append(compare)
    by_key = {k.key: k for k in kpi_list}
    brief = bool(headline or recommendations)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
    ]
    if brief:
        parts.append("<header class='brief'>")
        parts.append("<button class='print' type='button' onclick='window.print()'>Print or save as PDF</button>")
    parts.append(f"<h1>{_e(title)}</h1><p class='meta'>{_e(' · '.join(meta))}</p>")
    if brief:
        if headline:
            parts.append(f"<p class='headline'>{_bold(headline)}</p>")
        chosen = [by_key[k] for k in headline_kpis if k in by_key and by_key[k].value is not None]
        if chosen:
            parts.append(_kpi_cards(chosen, currency, currency_code, kpi_labels))
        if recommendations:
            parts.append(
                f"<h2>{'Three things' if len(recommendations) == 3 else 'What'} to do now</h2><ol class='recs'>"
            )
            for rec in list(recommendations)[:3]:
                parts.append(
                    f"<li><strong>{_e(rec.action)}</strong><span class='stake'>{_e(rec.value)}</span>"
                    f"<br><span class='why'>{_e(rec.why)}</span></li>"
                )
            parts.append("</ol>")
        if scenario:
            parts.append("<h2>What a retention lift is worth</h2><div class='scenario'>")
            parts.append(_scenario_html(scenario))
            svg = None
            if scenario_chart is not None:
                try:
                    spec = scenario_chart if isinstance(scenario_chart, Mapping) else scenario_chart.to_dict()
                    svg = chart_to_svg(spec)
                except (KeyError, TypeError, ValueError, IndexError):
                    svg = None
            parts.append(f"<div>{svg or ''}</div></div>")
        parts.append("</header><h2>The detail</h2>")
    parts.append("<h2>Key figures</h2>" if not brief else "<h3>Key figures</h3>")
    parts.append(_kpi_cards(kpi_list, currency, currency_code))
    all_notes = list(kpis.notes) if isinstance(kpis, KPIReport) else []
    all_notes += list(notes)
    if all_notes:
        parts.append("<ul class='meta'>" + "".join(f"<li>{_e(n)}</li>" for n in all_notes) + "</ul>")
    chart_items = list(charts.items()) if isinstance(charts, Mapping) else list(charts)
    if chart_items:
        parts.append("<h2>Charts</h2>")
        parts += [_chart_block(name, chart) for name, chart in chart_items]
    if actions is not None and len(actions):
        parts.append(f"<h2>Whom to call first (top {min(top_actions, len(actions))})</h2>")
        parts.append(frame_to_html(actions.head(top_actions), max_rows=top_actions))
    if scenario and not brief:
        parts.append("<h2>What-if scenario</h2>")
        parts.append(_scenario_html(scenario))
    parts.append(
        "<p class='meta'>Made with Keepwise. This file works offline: no part of it is fetched from the internet.</p>"
    )
    parts.append("</body></html>")
    return "".join(parts)
