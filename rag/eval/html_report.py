"""A run as one self-contained HTML page with inline SVG charts."""

from __future__ import annotations

import html

from rag.eval.metrics import EvalReport
from rag.eval.text_report import LATENCY_METRICS, RATE_METRICS, fmt, header

_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1000px;color:#222;padding:0 1rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}th{background:#f4f4f4}
.ok{color:#1a7f37}.bad{color:#c62828}.num{text-align:right;font-variant-numeric:tabular-nums}svg text{font:12px system-ui,sans-serif}"""


def _svg_bars(rows: list[tuple[str, float | None]]) -> str:
    """Horizontal bars for values in [0, 1]."""
    label_w, bar_w, row_h = 170, 420, 26
    height = row_h * len(rows) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 70}" height="{height}" role="img" aria-label="metrics">']
    for i, (label, value) in enumerate(rows):
        y = 5 + i * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{html.escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 8}" fill="#eee"/>')
        if value is None:
            parts.append(f'<text x="{label_w + 6}" y="{y + 16}" fill="#888">n/a</text>')
            continue
        w = max(0.0, min(1.0, value)) * bar_w
        colour = "#c62828" if label.startswith("false") else "#2f6fdf"
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + bar_w + 8}" y="{y + 16}">{value:.3f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_histogram(values: list[float], label: str, bins: int = 12) -> str:
    if not values:
        return "<p>No latencies recorded.</p>"
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / span * bins))] += 1
    width, height, pad_l, pad_b = 640, 220, 40, 40
    plot_w, plot_h = width - pad_l - 10, height - pad_b - 20
    top = max(counts)
    bar = plot_w / bins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="{html.escape(label)}">']
    parts.append(f'<line x1="{pad_l}" y1="{20 + plot_h}" x2="{pad_l + plot_w}" y2="{20 + plot_h}" stroke="#888"/>')
    for i, c in enumerate(counts):
        h = plot_h * c / top
        x = pad_l + i * bar
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{20 + plot_h - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" fill="#2f6fdf">'
            f"<title>{c}</title></rect>"
        )
        if c:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{20 + plot_h - h - 4:.1f}" text-anchor="middle">{c}</text>')
    for i in (0, bins // 2, bins):
        x = pad_l + i * bar
        parts.append(f'<text x="{x:.1f}" y="{20 + plot_h + 16}" text-anchor="middle">{lo + span * i / bins:.0f}</text>')
    parts.append(f'<text x="{pad_l + plot_w / 2}" y="{height - 4}" text-anchor="middle">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: EvalReport) -> str:
    m = report.metrics
    esc = html.escape
    bars = _svg_bars([(label, getattr(m, key)) for key, label in RATE_METRICS if not (m.retrieval_only and getattr(m, key) is None)])
    if m.retrieval_only:
        lat, lat_label = [r.retrieve_ms for r in report.per_question if r.retrieve_ms is not None], "retrieval latency (ms)"
    else:
        lat, lat_label = [r.total_ms for r in report.per_question if r.total_ms is not None], "answer latency, whole ask (ms)"
    lat_rows = "".join(
        f"<tr><td>{esc(label)}</td><td class=num>{fmt(key, getattr(m, key))}</td></tr>"
        for key, label in LATENCY_METRICS
        if getattr(m, key) is not None
    )

    def mark(v):
        return "" if v is None else ('<span class=ok>✓</span>' if v else '<span class=bad>✗</span>')

    rows = "".join(
        "<tr>"
        f"<td>{esc(r.id)}</td><td>{esc(r.question)}</td><td>{esc(r.error or r.answer or '')}</td>"
        f"<td>{'' if r.abstained is None else ('yes' if r.abstained else 'no')}</td><td>{mark(r.correct)}</td>"
        f"<td class=num>{r.hit_rank or ('—' if r.answerable else '')}</td>"
        f"<td class=num>{'' if r.citations_valid is None else f'{r.citations_valid:.2f}'}</td>"
        f"<td class=num>{'' if r.total_ms is None else f'{r.total_ms:.0f}'}</td></tr>"
        for r in report.per_question
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>newsdesk evaluation</title><style>{_CSS}</style></head>
<body>
<h1>newsdesk evaluation</h1>
<p>{esc(header(report))}</p>
<h2>Metrics</h2>
{bars}
<h2>Latency</h2>
<table style="width:auto">{lat_rows}</table>
{_svg_histogram(lat, lat_label)}
<h2>Per question</h2>
<table><tr><th>id</th><th>question</th><th>answer</th><th>abstained</th><th>correct</th><th>hit rank</th><th>citations valid</th><th>ms</th></tr>
{rows}</table>
</body></html>
"""
