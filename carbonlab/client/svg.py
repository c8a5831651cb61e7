"""Charts drawn server-side as inline SVG: no browser library, nothing fetched from a CDN.

`bars` draws one bar per value (a period's CO2e, say) with a title and a text alternative
(`<title>` and `aria-label`), so a chart is readable with or without a screen and prints
with the page. Labels are escaped; the result is `Markup` for the templates.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, PAD = 640, 180, 28


def bars(values: Sequence[float | None], labels: Sequence[str], title: str, unit: str,
         testid: str) -> Markup:
    shown = [0.0 if v is None else max(0.0, v) for v in values]
    top = max(shown, default=0.0) or 1.0
    n = max(1, len(shown))
    step = (WIDTH - 2 * PAD) / n
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
             f'height="{HEIGHT}" data-testid="{escape(testid)}" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for i, (value, label) in enumerate(zip(shown, labels, strict=True)):
        h = (HEIGHT - 2 * PAD) * value / top
        x, y = PAD + i * step, HEIGHT - PAD - h
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{max(1.0, step - 2):.1f}" '
                     f'height="{h:.1f}"><title>{escape(label)}: {value:,.3f} {escape(unit)}</title></rect>')
    parts.append(f'<text x="{PAD}" y="{PAD - 10}">max {top:,.3f} {escape(unit)}</text>')
    if labels:
        parts.append(f'<text x="{PAD}" y="{HEIGHT - 8}">{escape(labels[0])}</text>')
        parts.append(f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" text-anchor="end">'
                     f"{escape(labels[-1])}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
