"""Charts drawn on the server as inline SVG: no script, no external file, legible in grey scale.

Shapes and line patterns carry the meaning (filled or hollow markers, solid or dashed lines),
never colour alone. Each chart is small enough for a 360 px phone screen, and every page shows
the same numbers in a table next to it. The charts only draw numbers they are given; a hidden
cell is drawn as the words "fewer than N responses".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask_babel import gettext
from markupsafe import Markup, escape

INK = "#1b1b1b"
MUTED = "#6b6b6b"
GRID = "#d4d4d4"
WIDTH = 360
LABEL_WIDTH = 136
SCALE = (1.0, 5.0)


@dataclass(frozen=True)
class ScoreRow:
    """One row of a score chart: a label and a cell from ``survey.aggregates``."""

    label: str
    cell: dict
    overall: bool = False


@dataclass(frozen=True)
class Series:
    """One line of a trend chart: a cell per period, and how it is drawn."""

    label: str
    cells: list[dict]
    dashed: bool = False
    hollow: bool = False


def _x(value: float, left: float, right: float, low: float, high: float) -> float:
    return left + (value - low) / (high - low) * (right - left)


def _text(x, y, text, *, anchor="start", size=13, weight="normal", fill=INK, italic=False):
    style = ' font-style="italic"' if italic else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'font-weight="{weight}" fill="{fill}"{style}>{escape(text)}</text>'
    )


def _short(label: str, limit: int = 19) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def hidden_reason(cell: dict) -> str:
    """Why a suppressed cell shows no number, in the page's language."""
    return gettext("fewer than %(count)s responses", count=cell["min_cell"])


def _hidden_note(cell: dict) -> str | None:
    if cell.get("suppressed"):
        return hidden_reason(cell)
    if not cell.get("n"):
        return gettext("no responses")
    return None


def _scale_axis(left: float, right: float, top: float, bottom: float) -> list[str]:
    parts = []
    for tick in range(int(SCALE[0]), int(SCALE[1]) + 1):
        x = _x(tick, left, right, *SCALE)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" stroke="{GRID}"/>'
        )
        parts.append(_text(x, bottom + 14, str(tick), anchor="middle", size=11, fill=MUTED))
    return parts


def _marker(x: float, y: float, *, shape: str, hollow: bool, size: float = 5.5) -> str:
    fill = "#ffffff" if hollow else INK
    common = f'fill="{fill}" stroke="{INK}" stroke-width="1.8"'
    if shape == "diamond":
        s = size + 1
        points = f"{x:.1f},{y - s:.1f} {x + s:.1f},{y:.1f} {x:.1f},{y + s:.1f} {x - s:.1f},{y:.1f}"
        return f'<polygon points="{points}" {common}/>'
    if shape == "square":
        return (
            f'<rect x="{x - size:.1f}" y="{y - size:.1f}" width="{2 * size:.1f}" '
            f'height="{2 * size:.1f}" {common}/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size:.1f}" {common}/>'


def score_chart(title: str, rows: list[ScoreRow]) -> Markup:
    """Means with 95% CI bars on the 1-5 scale, one row each; the clinic overall as a diamond
    with a dashed line through the chart; a filled circle where the clinician's reliability
    reaches the target, a hollow one where it does not."""
    row_height, top = 26, 8
    left, right = LABEL_WIDTH, WIDTH - 14
    bottom = top + row_height * len(rows)
    body = _scale_axis(left, right, top, bottom)
    for i, row in enumerate(rows):
        y = top + row_height * (i + 0.5)
        weight = "bold" if row.overall else "normal"
        body.append(f"<g><title>{escape(row.label)}</title>")
        body.append(_text(4, y + 4, _short(row.label), weight=weight))
        body.append("</g>")
        note = _hidden_note(row.cell)
        if note:
            body.append(_text(left + 6, y + 4, note, size=11, fill=MUTED, italic=True))
            continue
        mean = row.cell["mean"]
        x = _x(mean, left, right, *SCALE)
        if row.cell.get("ci"):
            low, high = (_x(v, left, right, *SCALE) for v in row.cell["ci"])
            body.append(
                f'<line x1="{low:.1f}" y1="{y:.1f}" x2="{high:.1f}" y2="{y:.1f}" '
                f'stroke="{INK}" stroke-width="2"/>'
            )
            for end in (low, high):
                body.append(
                    f'<line x1="{end:.1f}" y1="{y - 5:.1f}" x2="{end:.1f}" y2="{y + 5:.1f}" '
                    f'stroke="{INK}" stroke-width="1.5"/>'
                )
        if row.overall:
            body.append(
                f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
                f'stroke="{INK}" stroke-dasharray="4 3"/>'
            )
            body.append(_marker(x, y, shape="diamond", hollow=False))
        else:
            hollow = not row.cell.get("comparable", True)
            body.append(_marker(x, y, shape="circle", hollow=hollow))
    return _svg(WIDTH, int(bottom + 24), title, body)


_TREND_MARKERS = ("circle", "square")


def trend_chart(title: str, periods: list[str], series: list[Series]) -> Markup:
    """Means per period as lines with markers and 95% CI whiskers; a hidden or empty period
    leaves a gap. The vertical axis spans the numbers shown (labelled), not the whole scale."""
    height, top, bottom, left, right = 200, 12, 160, 36, WIDTH - 12
    shown = [
        value
        for line in series
        for cell in line.cells
        if not _hidden_note(cell)
        for value in (cell.get("ci") or [cell["mean"]])
    ]
    if not shown or not periods:
        nothing = gettext("nothing to show yet")
        body = [_text(WIDTH / 2, 60, nothing, anchor="middle", fill=MUTED)]
        return _svg(WIDTH, 100, title, body)
    low = max(SCALE[0], _floor_half(min(shown)))
    high = min(SCALE[1], _ceil_half(max(shown)))
    if high - low < 0.5:
        low, high = max(SCALE[0], high - 0.5), max(high, SCALE[0] + 0.5)
    body = []
    tick = low
    while tick <= high + 1e-9:
        y = _x(tick, bottom, top, low, high)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 4, y + 4, f"{tick:.1f}", anchor="end", size=11, fill=MUTED))
        tick += 0.5
    step = (right - left) / max(1, len(periods))
    # Thin the period labels so that neighbours never touch (about 6 px per character at 10 px).
    label_width = 6 * max(len(period) for period in periods) + 6
    label_every = max(1, round(len(periods) / 6), math.ceil(label_width / step))
    for j, period in enumerate(periods):
        if j % label_every == 0:
            x = left + step * (j + 0.5)
            body.append(_text(x, bottom + 16, period, anchor="middle", size=10, fill=MUTED))
    for k, line in enumerate(series):
        offset = (k - (len(series) - 1) / 2) * 5
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        points: list[tuple[float, float] | None] = []
        for j, cell in enumerate(line.cells):
            if _hidden_note(cell):
                points.append(None)
                continue
            x = left + step * (j + 0.5) + offset
            points.append((x, _x(cell["mean"], bottom, top, low, high)))
            if cell.get("ci"):
                y_low, y_high = (_x(v, bottom, top, low, high) for v in cell["ci"])
                body.append(
                    f'<line x1="{x:.1f}" y1="{y_low:.1f}" x2="{x:.1f}" y2="{y_high:.1f}" '
                    f'stroke="{MUTED}" stroke-width="1.2"/>'
                )
        for segment in _segments(points):
            if len(segment) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                body.append(
                    f'<polyline points="{path}" fill="none" stroke="{INK}" '
                    f'stroke-width="1.8"{dash}/>'
                )
        shape = _TREND_MARKERS[k % len(_TREND_MARKERS)]
        for point in points:
            if point is not None:
                body.append(_marker(*point, shape=shape, hollow=line.hollow, size=4))
    if len(series) > 1:
        body.extend(_trend_legend(series, bottom + 34))
    return _svg(WIDTH, height if len(series) > 1 else height - 18, title, body)


def _trend_legend(series: list[Series], y: float) -> list[str]:
    parts, x = [], 40.0
    for k, line in enumerate(series):
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        parts.append(
            f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 26:.1f}" y2="{y - 4:.1f}" '
            f'stroke="{INK}" stroke-width="1.8"{dash}/>'
        )
        shape = _TREND_MARKERS[k % len(_TREND_MARKERS)]
        parts.append(_marker(x + 13, y - 4, shape=shape, hollow=line.hollow, size=4))
        parts.append(_text(x + 32, y, _short(line.label, 16), size=11))
        x += 160
    return parts


def _segments(points):
    segment = []
    for point in points:
        if point is None:
            if segment:
                yield segment
            segment = []
        else:
            segment.append(point)
    if segment:
        yield segment


def _floor_half(value: float) -> float:
    return int(value * 2) / 2 if value >= 0 else -_ceil_half(-value)


def _ceil_half(value: float) -> float:
    whole = value * 2
    return (int(whole) + (whole > int(whole))) / 2


def comparison_chart(title: str, rows: list[tuple[str, dict]]) -> Markup:
    """Patient mean (hollow circle) and clinician mean (filled square) of each construct joined
    by a line; a construct the clinician rates higher is labelled in bold with an up arrow."""
    row_height, top = 28, 8
    left, right = LABEL_WIDTH, WIDTH - 14
    bottom = top + row_height * len(rows)
    body = _scale_axis(left, right, top, bottom)
    for i, (label, cell) in enumerate(rows):
        y = top + row_height * (i + 0.5)
        higher = bool(cell.get("clinician_higher"))
        text = f"▲ {label}" if higher else label
        body.append(_text(4, y + 4, _short(text), weight="bold" if higher else "normal"))
        note = _hidden_note(cell)
        if note:
            body.append(_text(left + 6, y + 4, note, size=11, fill=MUTED, italic=True))
            continue
        patient = _x(cell["patient_mean"], left, right, *SCALE)
        clinician = _x(cell["clinician_mean"], left, right, *SCALE)
        body.append(
            f'<line x1="{patient:.1f}" y1="{y:.1f}" x2="{clinician:.1f}" y2="{y:.1f}" '
            f'stroke="{INK}" stroke-width="{3 if higher else 1.5}"/>'
        )
        body.append(_marker(patient, y, shape="circle", hollow=True))
        body.append(_marker(clinician, y, shape="square", hollow=False, size=4.5))
    return _svg(WIDTH, int(bottom + 24), title, body)


def funnel_chart(title: str, stages: list[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per stage of the invitation funnel, with the count written on it."""
    row_height, top = 30, 6
    left, right = 96, WIDTH - 60
    most = max((value for _, value in stages), default=0) or 1
    body = []
    for i, (label, value) in enumerate(stages):
        y = top + row_height * i
        body.append(_text(4, y + 18, label))
        width = (right - left) * value / most
        pattern = "url(#funnel-hatch)" if i % 2 else INK
        body.append(
            f'<rect x="{left}" y="{y + 4:.1f}" width="{width:.1f}" height="{row_height - 10}" '
            f'fill="{pattern}" stroke="{INK}"/>'
        )
        body.append(_text(left + width + 6, y + 19, f"{value:,}"))
    hatch = (
        '<defs><pattern id="funnel-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{INK}" stroke-width="2.5"/></pattern></defs>'
    )
    return _svg(WIDTH, top + row_height * len(stages) + 6, title, [hatch, *body])
