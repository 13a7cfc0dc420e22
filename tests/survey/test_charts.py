"""The server-drawn SVG charts stay readable on a 360 px screen."""

from __future__ import annotations

import re

from survey.dashboard.charts import Series, trend_chart


def test_period_labels_of_a_trend_chart_do_not_overlap():
    periods = [f"{year} Q{q}" for year in (2025, 2026) for q in (1, 2, 3, 4)]
    cells = [{"mean": 4.0, "ci": [3.8, 4.2], "n": 40} for _ in periods]
    svg = str(trend_chart("Valuing", periods, [Series("Clinic", cells)]))
    labels = re.findall(r'<text x="([\d.]+)"[^>]*>(\d{4} Q\d)</text>', svg)
    assert 2 <= len(labels) < len(periods)
    xs = [float(x) for x, _ in labels]
    width = 6 * len("2025 Q1")  # about 6 px per character at font-size 10
    assert min(b - a for a, b in zip(xs, xs[1:], strict=False)) > width
