"""Draw a soak's curves as one SVG file, in plain Python (no plotting library needed).

Four panels share the time axis (minutes since the load started): the server's RSS (MB), the
size of each database file (MB), calls/s per interval and p99 latency per interval (ms). The
input is the JSON report ``bench.soak`` writes; each panel's title carries the plateau verdict
of its series where the report has one.

Example::

    .venv/bin/python -m bench.plot bench/results/<timestamp>-soak.json docs/images/soak.svg
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

WIDTH = 900
"""SVG width in px."""

PANEL_HEIGHT = 190
"""Height in px of one panel, its title and x-axis labels included."""

MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 250, 28, 30

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf")

MB = 1024 * 1024

Series = tuple[str, list[tuple[float, float]]]
"""A legend label and its (minutes, value) points."""


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Return round tick values covering [low, high] (about ``count`` of them).

    Args:
        low: the smallest value to show.
        high: the largest value to show; a flat range is widened to include 0 and 1.
        count: the number of ticks wanted.

    Returns:
        Ascending multiples of 1, 2 or 5 × 10^k from at most ``low`` to at least ``high``.
    """
    if not math.isfinite(low) or not math.isfinite(high):
        low, high = 0.0, 1.0
    if high <= low:
        low, high = min(0.0, low), max(1.0, high, low + 1.0)
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:g}"


def panel(top: float, title: str, unit: str, series: Sequence[Series], x_max: float) -> list[str]:
    """Return the SVG elements of one panel whose top edge is at ``top`` px.

    Args:
        top: y of the panel's top edge (px).
        title: the panel's title, drawn above the plot area.
        unit: the y axis unit, drawn next to the tick labels (e.g. "MB").
        series: the lines to draw, each a label and (minutes, value) points.
        x_max: the right end of the time axis (min).

    Returns:
        SVG element strings (axes, grid, polylines, legend).
    """
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    plot_top, plot_bottom = top + MARGIN_TOP, top + PANEL_HEIGHT - MARGIN_BOTTOM
    values = [v for _, points in series for _, v in points]
    y_ticks = nice_ticks(min([0.0, *values]), max(values, default=1.0))
    x_ticks = nice_ticks(0.0, x_max, 6)
    y_low, y_high = y_ticks[0], y_ticks[-1]
    x_high = x_ticks[-1]

    def x(t: float) -> float:
        return left + (right - left) * t / x_high

    def y(v: float) -> float:
        return plot_bottom - (plot_bottom - plot_top) * (v - y_low) / (y_high - y_low)

    out = [
        f'<text x="{left}" y="{top + 16}" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in y_ticks:
        out.append(
            f'<line x1="{left}" x2="{right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
            f"{_fmt(tick)}</text>"
        )
    out.append(
        f'<text x="{left - 6}" y="{plot_top - 8}" text-anchor="end" fill="#555">'
        f"{escape(unit)}</text>"
    )
    for tick in x_ticks:
        out.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{plot_top}" y2="{plot_bottom}" '
            f'stroke="#eee"/>'
            f'<text x="{x(tick):.1f}" y="{plot_bottom + 16}" text-anchor="middle">'
            f"{_fmt(tick)}</text>"
        )
    out.append(
        f'<rect x="{left}" y="{plot_top}" width="{right - left}" '
        f'height="{plot_bottom - plot_top}" fill="none" stroke="#888"/>'
    )
    for n, (label, points) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        legend_y = plot_top + 4 + 16 * n
        out.append(
            f'<line x1="{right + 12}" x2="{right + 32}" y1="{legend_y}" y2="{legend_y}" '
            f'stroke="{colour}" stroke-width="3"/>'
            f'<text x="{right + 38}" y="{legend_y + 4}">{escape(label)}</text>'
        )
    return out


def _verdict(report: dict[str, Any], key: str) -> str:
    verdict = report.get("verdicts", {}).get(key)
    return f" — {verdict['verdict']}" if verdict else ""


def render(report: dict[str, Any]) -> str:
    """Return the SVG document for a soak report (the JSON ``bench.soak`` writes).

    Args:
        report: the parsed report; uses ``samples`` (``t_s``, ``rss_kb``, the file sizes in
            bytes, ``calls_per_s``, ``p99_ms``), ``verdicts``, ``params`` and ``started``.

    Returns:
        A complete SVG document as text.

    Raises:
        ValueError: the report has no samples.
    """
    samples = report.get("samples") or []
    if not samples:
        raise ValueError("the report has no samples")
    minutes = [s["t_s"] / 60 for s in samples]
    x_max = max(minutes[-1], 1e-3)

    def points(key: str, scale: float = 1.0, skip_first: bool = False) -> list[tuple[float, float]]:
        # The first sample is taken before any load: it has no interval figures.
        rows = list(zip(minutes, samples, strict=True))[1 if skip_first else 0 :]
        return [(t, s[key] / scale) for t, s in rows if s.get(key) is not None]

    files = [
        key
        for key in samples[0]
        if ".db" in key and key != "db_total_bytes" and any(s[key] for s in samples)
    ]
    panels: list[tuple[str, str, list[Series]]] = [
        ("Server RSS" + _verdict(report, "rss_kb"), "MB", [("RSS", points("rss_kb", 1024))]),
        (
            "Database files" + _verdict(report, "db_total_bytes").replace("—", "— total"),
            "MB",
            [(f"{name}{_verdict(report, name)}", points(name, MB)) for name in files],
        ),
        (
            "Throughput per interval",
            "calls/s",
            [("calls/s", points("calls_per_s", skip_first=True))],
        ),
        ("Latency per interval", "ms", [("p99", points("p99_ms", skip_first=True))]),
    ]
    params = report.get("params", {})
    heading = (
        f"Kilowatt soak {report.get('started', '')[:16]} UTC: {params.get('stations')} stations "
        f"({', '.join(params.get('versions', []))}), x axis: minutes since the load started"
    )
    height = 30 + PANEL_HEIGHT * len(panels)
    body = [f'<text x="10" y="20" font-size="14">{escape(heading)}</text>']
    for n, (title, unit, series) in enumerate(panels):
        body.extend(panel(30 + n * PANEL_HEIGHT, title, unit, series, x_max))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">\n'
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>\n' + "\n".join(body) + "\n</svg>\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: read a soak report, write the SVG."""
    parser = argparse.ArgumentParser(prog="python -m bench.plot", description=__doc__)
    parser.add_argument("report", type=Path, help="the JSON report of python -m bench.soak")
    parser.add_argument("svg", type=Path, help="where to write the SVG")
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.report.read_text())
        svg = render(report)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"cannot plot {args.report}: {exc}", file=sys.stderr)
        return 1
    args.svg.parent.mkdir(parents=True, exist_ok=True)
    args.svg.write_text(svg)
    print(f"wrote {args.svg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
