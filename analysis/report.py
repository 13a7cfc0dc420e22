"""Render a validation workup (``Workup.to_dict()``) for people: a plain-text summary for the
terminal and one self-contained HTML page whose scree plot and loadings heatmap are inline SVG.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from html import escape

LOADING_CUTOFF = 0.30
TEXT_WIDTH = 100
KAISER_LABELS = ((0.9, "marvelous"), (0.8, "meritorious"), (0.7, "middling"), (0.6, "mediocre"))
# Hu & Bentler (1999) conventional cut-offs: index, comparison, bound.
FIT_CUTOFFS = (
    ("cfi", ">=", 0.95),
    ("tli", ">=", 0.95),
    ("rmsea", "<=", 0.06),
    ("srmr", "<=", 0.08),
)
OBLIQUE = ("oblimin", "promax")
CSS = """body{font:15px/1.45 system-ui,sans-serif;color:#1a1a1a;max-width:1100px;margin:2em auto;
padding:0 1em}h1{font-size:1.6em}h2{border-bottom:2px solid #333;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-variant-numeric:tabular-nums}
th,td{padding:.25em .7em;border-bottom:1px solid #ccc;text-align:right}.t{text-align:left}
thead th{background:#eee;border-bottom:2px solid #555}caption{text-align:left;font-weight:600;
white-space:nowrap}td.flag{background:#fbe3d6;font-weight:600}td.ok{background:#e1efe0}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1.2em}dt{font-weight:600}
dd{margin:0}.row{display:flex;flex-wrap:wrap;gap:0 2.5em}
figcaption{font-size:.9em;color:#444;max-width:45em}summary{cursor:pointer;font-weight:600}
figure{margin:1em 0}"""


def text_summary(result: dict) -> str:
    """Summarize a workup as aligned plain text at most 100 columns wide.

    Parameters
    ----------
    result : dict
        ``Workup.to_dict()``; ``omega``, ``cfa`` and ``efa.parallel`` may be None.

    Returns
    -------
    str

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis.workup import WorkupOptions, run_workup
    >>> x = np.repeat(np.random.default_rng(5).normal(size=(300, 2)), 3, axis=1)
    >>> x = np.clip(np.round(3 + x + np.random.default_rng(6).normal(size=(300, 6))), 1, 5)
    >>> spec = {"one": ["a", "b", "c"], "two": ["d", "e", "f"]}
    >>> result = run_workup(pd.DataFrame(x, columns=list("abcdef")), spec).to_dict()
    >>> "KMO = " in text_summary(result)
    True
    """
    notes = "Notes\n" + "\n".join(
        textwrap.fill(note, TEXT_WIDTH, initial_indent="- ", subsequent_indent="  ")
        for note in result["notes"] or ["none"]
    )
    sections = [
        _text_header(result),
        _text_reliability(result["scales"], result["omega"]),
        _text_factorability(result["efa"], result["options"]),
        _text_efa(result["efa"]),
        _text_cfa(result["cfa"]),
        _text_irt(result.get("irt")),
        _text_invariance(result.get("invariance")),
        notes,
    ]
    return "\n\n".join(sections) + "\n"


def html_report(result: dict, *, title: str = "healing-survey analysis") -> str:
    """Render a workup as one self-contained HTML5 page (inline CSS and SVG, no script).

    Parameters
    ----------
    result : dict
        ``Workup.to_dict()``; ``omega``, ``cfa`` and ``efa.parallel`` may be None.
    title : str, optional
        The page title and heading.

    Returns
    -------
    str

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis.workup import WorkupOptions, run_workup
    >>> x = np.repeat(np.random.default_rng(5).normal(size=(300, 2)), 3, axis=1)
    >>> x = np.clip(np.round(3 + x + np.random.default_rng(6).normal(size=(300, 6))), 1, 5)
    >>> spec = {"one": ["a", "b", "c"], "two": ["d", "e", "f"]}
    >>> result = run_workup(pd.DataFrame(x, columns=list("abcdef")), spec).to_dict()
    >>> html_report(result).startswith("<!DOCTYPE html>")
    True
    """
    efa = result["efa"]
    body = [
        f"<h1>{escape(title)}</h1>",
        _html_summary(result),
        _html_items(result["items"]),
        _html_reliability(result["scales"], result["omega"]),
        _html_factorability(efa),
        _html_scree(efa["parallel"]),
        _html_efa(efa),
        _html_cfa(result["cfa"]),
        _html_irt(result.get("irt")),
        _html_invariance(result.get("invariance")),
        _section("Notes", _html_list(result["notes"] or ["none"])),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


# Formatting shared by both renderings.


def _num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "NA"
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _percent(share: float | None) -> str:
    return "NA" if share is None else f"{share:.1%}"


def _p_value(p: float | None) -> str:
    if p is None:
        return "p = NA"
    return "p < .001" if p < 0.001 else f"p = {p:.3f}".replace("0.", ".", 1)


def _ci(bounds: list | None) -> str:
    return "[NA]" if not bounds else f"[{_num(bounds[0])}, {_num(bounds[1])}]"


def _kaiser_label(kmo: float | None) -> str:
    if kmo is None:
        return "NA"
    label = next((label for bound, label in KAISER_LABELS if kmo >= bound), None)
    return label or ("miserable" if kmo >= 0.5 else "unacceptable")


def _alpha_rises(alpha_if_deleted: float | None, alpha: float | None) -> bool:
    return None not in (alpha_if_deleted, alpha) and alpha_if_deleted > alpha


def _weakest_item(scale: dict) -> tuple[str, dict]:
    rated = [(item, row) for item, row in scale["items"].items() if row["r_drop"] is not None]
    unknown = ("NA", {"r_drop": None, "alpha_if_deleted": None})
    return min(rated, key=lambda pair: pair[1]["r_drop"], default=unknown)


def _fit_rows(cfa: dict) -> list[list[str]]:
    """Index, value, cut-off and whether the value meets it (WLSMV: scaled, then robust)."""
    if cfa.get("estimator") == "WLSMV":
        return _wlsmv_fit_rows(cfa)
    rows = []
    for name, comparison, bound in FIT_CUTOFFS:
        cutoff = f"{comparison} {bound:.2f}".replace("0.", ".")
        rows.append([name.upper(), _num(cfa[name]), cutoff, _meets(cfa[name], comparison, bound)])
    rows[2][1] += " " + _ci(cfa["rmsea_ci"])
    return rows


def _wlsmv_fit_rows(cfa: dict) -> list[list[str]]:
    rows = []
    for suffix, values in (("", _scaled_indices(cfa)), (" robust", cfa["robust"])):
        for name, comparison, bound in FIT_CUTOFFS:
            if name == "srmr" and suffix:
                continue
            value = values.get(name)
            cutoff = f"{comparison} {bound:.2f}".replace("0.", ".")
            label = name.upper() + (suffix if name != "srmr" else "")
            rows.append([label, _num(value), cutoff, _meets(value, comparison, bound)])
    return rows


def _scaled_indices(cfa: dict) -> dict:
    keys = ("cfi", "tli", "rmsea")
    return {**{k: cfa[f"{k}_scaled"] for k in keys}, "srmr": cfa["srmr"]}


def _cfa_heading(cfa: dict) -> str:
    """The test statistic line: ML chi-square, or WLSMV's naive and scaled-shifted ones."""
    line = f"chi2({cfa['df']}) = {_num(cfa['chi2'], 2)}, {_p_value(cfa['p'])}"
    if cfa.get("estimator") == "WLSMV":
        line = (
            f"DWLS chi2({cfa['df']}) = {_num(cfa['chi2'], 2)}; scaled-shifted chi2"
            f"({_num(cfa['df_scaled'], 0)}) = {_num(cfa['chi2_scaled'], 2)}, "
            f"{_p_value(cfa['p_scaled'])}"
        )
    return line


def _meets(value: float | None, comparison: str, bound: float) -> str:
    if value is None:
        return "NA"
    return "yes" if (value >= bound if comparison == ">=" else value <= bound) else "no"


def _largest_indices(cfa: dict, count: int) -> list[dict]:
    rows = cfa.get("modification_indices") or []
    return sorted(rows, key=lambda row: -(row["mi"] or 0))[:count]


def _lower_triangle(factors: list[str], matrix: list[list[float]]) -> tuple[list, list]:
    """Header and rows of a correlation matrix, blank above the diagonal."""
    rows = [[f, *(_num(v, 2) for v in matrix[i][: i + 1])] for i, f in enumerate(factors)]
    return ["", *factors], [row + [""] * (len(factors) + 1 - len(row)) for row in rows]


def _cfa_factors(cfa: dict) -> list[str]:
    return list(dict.fromkeys(key.split("=~")[0] for key in cfa["std_loadings"]))


# The text summary.


def _clip(name: str, width: int) -> str:
    return name if len(name) <= width else name[: width - 1] + "~"


def _text_table(header: list[str], rows: list[list[str]], *, left: tuple = (0,)) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells):
        padded = [
            c.ljust(w) if j in left else c.rjust(w)
            for j, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def _text_header(result: dict) -> str:
    options, scales = result["options"], result["scales"]
    missing = [row["missing_pct"] for row in result["items"].values()] or [0.0]
    n_items = sum(scale["n_items"] for scale in scales.values())
    return "\n".join(
        [
            f"Psychometric workup: n = {result['n']} respondents, {_count(n_items, 'item')}, "
            f"{_count(len(scales), 'scale')}",
            f"Missing data: {result['missing']} deletion; missing per item "
            f"{min(missing):.1f}% to {max(missing):.1f}%",
            f"Options: {result['efa']['correlation']} correlations, factors {options['factors']}, "
            f"{options['method']}, {options['rotation']}, seed {options['seed']}",
        ]
    )


def _text_reliability(scales: dict, omega: dict | None) -> str:
    header = ["scale", "items", "alpha", "95% CI", "std.alpha", "omega_t", "weakest", "r.drop"]
    # Names are clipped only as far as the table must shrink to fit the text width.
    for scale_width, item_width in ((40, 24), (40, 12), (24, 10), (18, 8), (14, 8)):
        rows = _reliability_rows(scales, scale_width, item_width)
        table = _text_table([*header, "alpha.del "], rows, left=(0, 6))
        if max(map(len, table.splitlines())) <= TEXT_WIDTH:
            break
    lines = [
        "Reliability",
        table,
        "weakest: the item with the lowest corrected item-total correlation (r.drop);\n"
        "alpha.del: alpha without it (+ where alpha would rise)",
    ]
    if omega is not None:
        lines.append(
            f"Whole instrument ({_count(omega['n_factors'], 'group factor')}): omega "
            f"hierarchical {_num(omega['omega_hierarchical'])}, omega total "
            f"{_num(omega['omega_total'])}, "
            f"ECV {_num(omega['explained_common_variance'])}"
        )
    return "\n".join(lines)


def _reliability_rows(scales: dict, scale_width: int, item_width: int) -> list[list[str]]:
    rows = []
    for name, scale in scales.items():
        item, row = _weakest_item(scale)
        dropped = _num(row["alpha_if_deleted"])
        dropped += "+" if _alpha_rises(row["alpha_if_deleted"], scale["alpha"]) else " "
        numbers = [_num(scale[key]) for key in ("alpha", "std_alpha", "omega_total")]
        rows.append([_clip(name, scale_width), str(scale["n_items"]), numbers[0]])
        rows[-1] += [_ci(scale["alpha_ci"]), *numbers[1:], _clip(item, item_width)]
        rows[-1] += [_num(row["r_drop"]), dropped]
    return rows


def _text_factorability(efa: dict, options: dict) -> str:
    bartlett, parallel = efa["bartlett"], efa["parallel"]
    lowest = min(efa["kmo_items"].items(), key=lambda pair: pair[1] or 0, default=("NA", None))
    decision = f"not run (number of factors given: {options['factors']})"
    if parallel is not None:
        decision = (
            f"{_count(parallel['n_factors'], 'factor')}, "
            f"{_count(parallel['n_components'], 'component')} "
            f"({_count(parallel['iterations'], 'iteration')}, {parallel['quantile']:.0%} quantile)"
        )
    return "\n".join(
        [
            "Factorability",
            f"KMO = {_num(efa['kmo'])} ({_kaiser_label(efa['kmo'])}, Kaiser 1974); "
            f"lowest item MSA: {lowest[0]} {_num(lowest[1])}",
            f"Bartlett's test of sphericity: chi2({bartlett['df']}) = {_num(bartlett['chi2'], 2)}, "
            f"{_p_value(bartlett['p'])}",
            f"Parallel analysis: {decision}",
        ]
    )


def _text_efa(efa: dict) -> str:
    if efa["n_factors"] is None:
        return "EFA: not run"
    factors, loadings = efa["factors"], efa["loadings"]
    converged = "converged" if efa["converged"] else "NOT converged"
    lines = [
        f"EFA: {efa['method']} extraction, {efa['rotation']} rotation, "
        f"{_count(efa['n_factors'], 'factor')} ({converged}); cumulative variance "
        f"{_percent(efa['variance']['cumulative'][-1])}",
        f"Loadings (blank where |loading| < {LOADING_CUTOFF:.2f})",
    ]
    per_block = max(1, (TEXT_WIDTH - 16) // 7)
    for start in range(0, len(factors), per_block):
        block = slice(start, start + per_block)
        rows = [
            [_clip(item, 16), *map(_loading_text, row[block])] for item, row in loadings.items()
        ]
        lines.append(_text_table(["item", *factors[block]], rows))
    if len(factors) > 1 and efa["rotation"] in OBLIQUE:
        table = _lower_triangle(factors, efa["factor_correlations"])
        lines += ["Factor correlations", _text_table(*table)]
    return "\n".join(lines)


def _loading_text(value: float | None) -> str:
    return "" if value is None or abs(value) < LOADING_CUTOFF else f"{value:.2f}"


def _text_cfa(cfa: dict | None) -> str:
    if cfa is None:
        return "CFA: not run"
    indices = [
        [f"{row['lhs']} {row['op']} {row['rhs']}", _num(row["mi"], 2), _num(row["epc"])]
        for row in _largest_indices(cfa, 5)
    ]
    converged = "" if cfa["converged"] else " (NOT converged)"
    estimator = cfa.get("estimator", "ML")
    return "\n".join(
        [
            f"CFA ({estimator}, n = {cfa['n']}){converged}: {_cfa_heading(cfa)}",
            _text_table(["index", "value", "cut-off", "meets"], _fit_rows(cfa)),
            "Conventional cut-offs (Hu & Bentler 1999): CFI/TLI >= .95, RMSEA <= .06, SRMR <= .08",
            *(
                ["Largest modification indices"]
                + [_text_table(["parameter", "mi", "epc"], indices) if indices else "none"]
                if estimator == "ML"
                else []
            ),
        ]
    )


def _text_irt(irt: dict | None) -> str:
    if irt is None:
        return "IRT: not run"
    if not irt:
        return "IRT (graded response model): no scale with three or more items"
    lines = ["IRT: logistic graded response model (marginal ML, thresholds b in theta units)"]
    for scale, fit in irt.items():
        converged = "" if fit["converged"] else " (NOT converged)"
        lines.append(
            f"{scale}: n = {fit['n']}, logLik = {_num(fit['loglik'], 2)}, marginal reliability "
            f"{_num(fit['marginal_reliability'])}{converged}"
        )
        width = max(len(item["b"]) for item in fit["items"].values())
        rows = [
            [_clip(name, 16), _num(item["a"], 2), _num(item["a_se"], 2)]
            + [_num(v, 2) for v in item["b"]]
            + [""] * (width - len(item["b"]))
            for name, item in fit["items"].items()
        ]
        header = ["item", "a", "se(a)", *(f"b{k + 1}" for k in range(width))]
        lines.append(_text_table(header, rows))
    return "\n".join(lines)


# The HTML page.


def _section(heading: str, content: str) -> str:
    return f"<section>\n<h2>{escape(heading)}</h2>\n{content}\n</section>"


def _html_list(entries: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(entry)}</li>" for entry in entries) + "</ul>"


def _html_table(header: list[str], rows: list[list], *, caption: str = "", text: int = 1) -> str:
    """Cells are strings or ``(text, css_class)`` pairs, escaped here; ``text`` leading columns
    are left-aligned."""

    def cell(value, tag, j):
        content, css = value if isinstance(value, tuple) else (value, "")
        css = f"{css} t".strip() if j < text else css
        return (
            f'<{tag} class="{css}">{escape(content)}</{tag}>'
            if css
            else f"<{tag}>{escape(content)}</{tag}>"
        )

    head = "".join(cell(h, "th", j) for j, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell(c, "td", j) for j, c in enumerate(row)) + "</tr>\n" for row in rows
    )
    title = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{title}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>"


def _flag(text: str, flagged: bool) -> str | tuple[str, str]:
    return (text, "flag") if flagged else text


def _html_summary(result: dict) -> str:
    efa, cfa, parallel = result["efa"], result["cfa"], result["efa"]["parallel"]
    alphas = [s["alpha"] for s in result["scales"].values() if s["alpha"] is not None] or [None]
    facts = {
        "Respondents": f"{result['n']} (missing data: {result['missing']} deletion)",
        "Scales": f"{len(result['scales'])}; alpha {_num(min(alphas))} to {_num(max(alphas))}",
        "Factorability": f"KMO {_num(efa['kmo'])} ({_kaiser_label(efa['kmo'])}); Bartlett "
        f"{_p_value(efa['bartlett']['p'])}",
        "Parallel analysis": "not run",
        "EFA": "not run",
        "CFA": "not run",
    }
    if parallel is not None:
        facts["Parallel analysis"] = (
            f"{_count(parallel['n_factors'], 'factor')}, "
            f"{_count(parallel['n_components'], 'component')}"
        )
    if efa["n_factors"] is not None:
        facts["EFA"] = (
            f"{_count(efa['n_factors'], 'factor')}, {efa['method']}, {efa['rotation']} rotation"
        )
    if cfa is not None:
        facts["CFA"] = ", ".join(f"{row[0]} {row[1]}" for row in _fit_rows(cfa))
    entries = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts.items())
    return _section("Summary", f"<dl>{entries}</dl>")


def _html_items(items: dict) -> str:
    keys = (
        ("n", 0),
        ("mean", 2),
        ("sd", 2),
        ("missing_pct", 1),
        ("floor_pct", 1),
        ("ceiling_pct", 1),
    )
    rows = [[item, *(_num(row[k], d) for k, d in keys)] for item, row in items.items()]
    header = ["item", "n", "mean", "sd", "missing %", "floor %", "ceiling %"]
    return _section("Item statistics", _html_table(header, rows))


def _html_reliability(scales: dict, omega: dict | None) -> str:
    keys = ("alpha", "alpha_ci", "std_alpha", "omega_total")
    rows = [
        [name, str(s["n_items"]), *(_ci(s[k]) if k == "alpha_ci" else _num(s[k]) for k in keys)]
        for name, s in scales.items()
    ]
    header = ["scale", "items", "alpha", "95% CI", "std. alpha", "omega total"]
    parts = [_html_table(header, rows, caption="Reliability per scale")]
    if omega is not None:
        parts.append(
            f"<p>Whole instrument ({_count(omega['n_factors'], 'group factor')}): omega "
            "hierarchical "
            f"<b>{_num(omega['omega_hierarchical'])}</b>, omega total "
            f"{_num(omega['omega_total'])}, explained common variance "
            f"{_num(omega['explained_common_variance'])}.</p>"
        )
    tables = "\n".join(_html_scale_items(name, scale) for name, scale in scales.items())
    parts.append(f'<div class="row">{tables}</div>')
    return _section("Reliability", "\n".join(parts))


def _html_scale_items(name: str, scale: dict) -> str:
    rows = [
        [
            item,
            _num(r["mean"], 2),
            _num(r["sd"], 2),
            _num(r["r_drop"]),
            _flag(_num(r["alpha_if_deleted"]), _alpha_rises(r["alpha_if_deleted"], scale["alpha"])),
        ]
        for item, r in scale["items"].items()
    ]
    header = ["item", "mean", "sd", "r.drop", "alpha if deleted"]
    return _html_table(header, rows, caption=f"Items of {name} (keyed)")


def _html_factorability(efa: dict) -> str:
    bartlett = efa["bartlett"]
    rows = [
        [item, _flag(_num(v), v is not None and v < 0.6), _kaiser_label(v)]
        for item, v in efa["kmo_items"].items()
    ]
    table = _html_table(["item", "MSA", "label"], rows, text=3)
    return _section(
        "Factorability",
        f"<p>Kaiser-Meyer-Olkin measure of sampling adequacy: <b>{_num(efa['kmo'])}</b> "
        f"({escape(_kaiser_label(efa['kmo']))}). Bartlett's test of sphericity: "
        f"&chi;<sup>2</sup>({bartlett['df']}) = {_num(bartlett['chi2'], 2)}, "
        f"{escape(_p_value(bartlett['p']))}. Correlations: {escape(efa['correlation'])}.</p>\n"
        f"<details><summary>Per-item KMO (MSA; highlighted below .60)</summary>{table}</details>",
    )


def _html_scree(parallel: dict | None) -> str:
    if parallel is None:
        return _section(
            "Scree plot", "<p>No parallel analysis: the number of factors was given.</p>"
        )
    caption = (
        f"Parallel analysis ({parallel['iterations']} iterations, {parallel['quantile']:.0%} "
        f"quantile of simulated eigenvalues) retains {_count(parallel['n_factors'], 'factor')} "
        f"and {_count(parallel['n_components'], 'component')}: the observed eigenvalues above "
        "the dashed lines."
    )
    figure = f"<figure>{_scree_svg(parallel)}<figcaption>{escape(caption)}</figcaption></figure>"
    return _section("Scree plot and parallel analysis", figure)


def _html_efa(efa: dict) -> str:
    if efa["n_factors"] is None:
        return _section("Exploratory factor analysis", "<p>No EFA was run.</p>")
    factors, loadings = efa["factors"], efa["loadings"]
    h2, u2 = efa["communalities"], efa["uniquenesses"]
    rows = [
        [item, *map(_num, row), _num(h2.get(item)), _num(u2.get(item))]
        for item, row in loadings.items()
    ]
    rows.append(["SS loadings", *map(_num, efa["variance"]["ss_loadings"]), "", ""])
    converged = "" if efa["converged"] else " (did NOT converge)"
    parts = [
        f"<p>{escape(efa['method'])} extraction, {escape(efa['rotation'])} rotation, "
        f"{_count(efa['n_factors'], 'factor')}{converged}; cumulative variance explained "
        f"{_percent(efa['variance']['cumulative'][-1])}.</p>",
        f"<figure>{_heatmap_svg(loadings, factors)}<figcaption>Shade: |loading|; hatched: "
        "negative loading of at least .30 in size; bold: |loading| &ge; .30.</figcaption></figure>",
        "<details><summary>Loadings as a table</summary>"
        + _html_table(["item", *factors, "h2", "u2"], rows)
        + "</details>",
    ]
    if len(factors) > 1 and efa["rotation"] in OBLIQUE:
        table = _lower_triangle(factors, efa["factor_correlations"])
        parts.append(_html_table(*table, caption="Factor correlations"))
    return _section("Exploratory factor analysis", "\n".join(parts))


def _html_cfa(cfa: dict | None) -> str:
    if cfa is None:
        return _section("Confirmatory factor analysis", "<p>No CFA was run.</p>")
    fit = [[*row[:3], (row[3], "ok" if row[3] == "yes" else "flag")] for row in _fit_rows(cfa)]
    loadings = [
        [*key.split("=~", 1), _flag(_num(v), v is not None and abs(v) < LOADING_CUTOFF)]
        for key, v in cfa["std_loadings"].items()
    ]
    indices = [
        [row["lhs"], row["op"], row["rhs"], _num(row["mi"], 2), _num(row["epc"])]
        for row in _largest_indices(cfa, 10)
    ]
    converged = "" if cfa["converged"] else "; did NOT converge"
    if cfa.get("estimator") == "WLSMV":
        summary = (
            f"<p>WLSMV estimation (DWLS on polychoric correlations and thresholds, as lavaan "
            f"<code>ordered = TRUE</code>), n = {cfa['n']}: {escape(_cfa_heading(cfa))}"
            f"{converged}. CFI, TLI and RMSEA from the scaled statistic, then lavaan's robust "
            "versions (Savalei 2021). Conventional cut-offs of Hu &amp; Bentler (1999).</p>"
        )
    else:
        summary = (
            f"<p>ML estimation, n = {cfa['n']}: &chi;<sup>2</sup>({cfa['df']}) = "
            f"{_num(cfa['chi2'], 2)}, "
            f"{escape(_p_value(cfa['p']))}; AIC {_num(cfa.get('aic'), 1)}, BIC "
            f"{_num(cfa.get('bic'), 1)}{converged}. Conventional cut-offs of Hu &amp; Bentler "
            "(1999).</p>"
        )
    parts = [
        summary,
        _html_table(["index", "value", "cut-off", "meets"], fit, caption="Fit indices"),
        _html_table(
            ["scale", "item", "std. loading"], loadings, caption="Standardized loadings", text=2
        ),
    ]
    factors, correlations = _cfa_factors(cfa), cfa.get("factor_correlations") or []
    if len(factors) == len(correlations) > 1:
        parts.append(
            _html_table(*_lower_triangle(factors, correlations), caption="Factor correlations")
        )
    if indices:
        header = ["lhs", "op", "rhs", "mi", "epc"]
        parts.append(_html_table(header, indices, caption="Largest modification indices", text=3))
    if cfa.get("thresholds"):
        rows = [
            [item, " ".join(_num(t, 2).replace("-0.00", "0.00") for t in tau)]
            for item, tau in cfa["thresholds"].items()
        ]
        parts.append(_html_table(["item", "thresholds"], rows, caption="Thresholds"))
    return _section("Confirmatory factor analysis", "\n".join(parts))


def _invariance_rows(invariance: dict) -> tuple[list[str], list[list[str]], list[str], list]:
    """Model fit rows and difference-test rows of the invariance table."""
    scaled = invariance["estimator"] == "WLSMV"
    suffix = "_scaled" if scaled else ""
    header = ["model", "chi2", "df", "CFI", "TLI", "RMSEA", "SRMR"]
    if scaled:
        header[1] = "scaled chi2"
    rows = []
    for step in ("configural", "metric", "scalar"):
        model = invariance[step]
        rows.append(
            [
                step,
                _num(model["chi2" + suffix], 2),
                str(model["df"]),
                _num(model["cfi" + suffix]),
                _num(model["tli" + suffix]),
                _num(model["rmsea" + suffix]),
                _num(model["srmr"]),
            ]
        )
    test_header = ["comparison", "chi2 diff", "df", "p", "dCFI", "dRMSEA", "verdict"]
    tests = [
        [
            t["models"],
            _num(t["chi2_diff"], 2),
            str(t["df_diff"]),
            _p_value(t["p"]).removeprefix("p ").removeprefix("= "),
            f"{t['delta_cfi']:+.3f}",
            f"{t['delta_rmsea']:+.3f}",
            t["verdict"],
        ]
        for t in invariance["tests"]
    ]
    return header, rows, test_header, tests


def _invariance_cutoffs(invariance: dict) -> str:
    cut = invariance["cutoffs"]
    method = invariance["tests"][0]["method"] if invariance["tests"] else ""
    return (
        f"Difference tests: {method}. Cut-offs of {cut['source']}: dCFI <= {cut['delta_cfi']:.3f} "
        f"with dRMSEA >= {cut['delta_rmsea']:.3f} suggests non-invariance; one of the two alone "
        "is marked doubtful."
    )


def _text_invariance(invariance: dict | None) -> str:
    if invariance is None:
        return "Measurement invariance: not tested"
    header, rows, test_header, tests = _invariance_rows(invariance)
    groups = ", ".join(
        f"{g} (n = {n})"
        for g, n in zip(invariance["groups"], invariance["group_sizes"], strict=True)
    )
    return "\n".join(
        [
            f"Measurement invariance across {invariance['group']} ({invariance['estimator']}): "
            f"{groups}",
            _text_table(header, rows),
            _text_table(test_header, tests),
            _invariance_cutoffs(invariance),
        ]
    )


def _html_invariance(invariance: dict | None) -> str:
    if invariance is None:
        return ""
    header, rows, test_header, tests = _invariance_rows(invariance)
    verdicts = [[*row[:-1], _flag(row[-1], row[-1] != "invariant")] for row in tests]
    groups = ", ".join(
        f"{g} (n = {n})"
        for g, n in zip(invariance["groups"], invariance["group_sizes"], strict=True)
    )
    scaled = " (scaled statistic and indices)" if invariance["estimator"] == "WLSMV" else ""
    parts = [
        f"<p>{escape(invariance['estimator'])} across <b>{escape(invariance['group'])}</b>: "
        f"{escape(groups)}.</p>",
        _html_table(header, rows, caption=f"Fit of the nested models{scaled}"),
        _html_table(test_header, verdicts, caption="Differences between neighbours"),
        f"<p>{escape(_invariance_cutoffs(invariance))}</p>",
    ]
    return _section("Measurement invariance", "\n".join(parts))


# Inline SVG figures.


def _html_irt(irt: dict | None) -> str:
    heading = "Item response theory: graded response model"
    if irt is None:
        return _section(heading, "<p>Not run (ask for it with <code>--irt</code>).</p>")
    if not irt:
        return _section(heading, "<p>No scale has the three items the model needs.</p>")
    parts = [
        "<p>Samejima's logistic graded response model per scale, fitted by marginal maximum "
        "likelihood (as R ltm's <code>grm()</code>): a is the discrimination, b<sub>k</sub> "
        "the trait level at which answering above the k-th category boundary becomes more "
        "likely than not. Standard errors in parentheses. Marginal reliability is 1 minus the "
        "mean posterior variance of the EAP scores (Green et al. 1984).</p>"
    ]
    for scale, fit in irt.items():
        parts.append(_html_irt_scale(scale, fit))
    return _section(heading, "\n".join(parts))


def _html_irt_scale(scale: str, fit: dict) -> str:
    width = max(len(item["b"]) for item in fit["items"].values())
    rows = [
        [name, f"{_num(item['a'], 2)} ({_num(item['a_se'], 2)})"]
        + [f"{_num(b, 2)} ({_num(se, 2)})" for b, se in zip(item["b"], item["b_se"], strict=True)]
        + [""] * (width - len(item["b"]))
        for name, item in fit["items"].items()
    ]
    caption = (
        f"{scale}: n = {fit['n']}, log-likelihood {_num(fit['loglik'], 2)}, marginal "
        f"reliability {_num(fit['marginal_reliability'])}"
        + ("" if fit["converged"] else " (NOT converged)")
    )
    table = _html_table(["item", "a", *(f"b{k + 1}" for k in range(width))], rows, caption=caption)
    figure_caption = (
        f"Information of the {scale} items (thin lines) and of the whole scale (thick line) over "
        "theta; the standard error of a score at theta is 1 / sqrt(information)."
    )
    figure = (
        f"<figure>{_information_svg(scale, fit)}<figcaption>{escape(figure_caption)}"
        "</figcaption></figure>"
    )
    return table + "\n" + figure


INFO_DASHES = ("none", "6 3", "2 3", "9 3 2 3", "12 4", "4 2 1 2", "1 2")
INFO_INK = ("#1b2f5c", "#8a4b12", "#3d6b35", "#6b2d5c", "#555555", "#1f6f8b", "#7a6a00")


def _information_svg(scale: str, fit: dict) -> str:
    """Item and test information against theta (-4 to 4): ltm's plot(fit, type = "IIC")."""
    theta = fit["theta"]
    curves = {name: item["information"] for name, item in fit["items"].items()}
    top_value = max([v for v in fit["test_information"] if v is not None] + [1e-9])
    ticks = _ticks(0.0, top_value)
    left, top, plot_w, plot_h = 60, 20, 520, 300

    def x(value: float) -> float:
        return left + (value - theta[0]) * plot_w / (theta[-1] - theta[0])

    def y(value: float) -> float:
        return top + (ticks[-1] - value) * plot_h / (ticks[-1] - ticks[0])

    def line(values, ink, dash, stroke, key):
        points = " ".join(
            f"{x(t):.1f},{y(v):.1f}" for t, v in zip(theta, values, strict=True) if v is not None
        )
        return (
            f'<polyline class="series" data-series="{escape(key)}" fill="none" stroke="{ink}" '
            f'stroke-width="{stroke}" stroke-dasharray="{dash}" points="{points}"/>'
        )

    bottom, right = top + plot_h, left + plot_w
    parts = [
        SVG_OPEN.format(w=800, h=380, label=f"Item and test information of {escape(scale)}"),
        *(
            f'<line x1="{left}" y1="{y(t):.1f}" x2="{right}" y2="{y(t):.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t:g}</text>'
            for t in ticks
        ),
        *(
            f'<line x1="{x(t):.1f}" y1="{bottom}" x2="{x(t):.1f}" y2="{bottom + 5}" '
            f'stroke="#333"/><text x="{x(t):.1f}" y="{bottom + 18}" text-anchor="middle">'
            f"{t:g}</text>"
            for t in range(-4, 5)
        ),
        f'<path d="M{left},{top} V{bottom} H{right}" fill="none" stroke="#333"/>',
        f'<text x="{left + plot_w / 2}" y="{bottom + 40}" text-anchor="middle" '
        'font-size="13">theta (trait level)</text>',
        f'<text transform="translate(16 {top + plot_h / 2}) rotate(-90)" text-anchor="middle" '
        'font-size="13">information</text>',
        line(fit["test_information"], "#111", "none", 3.5, "test"),
    ]
    legend = [
        f'<line x1="{right + 20}" y1="{top + 10}" x2="{right + 60}" y2="{top + 10}" '
        f'stroke="#111" stroke-width="3.5"/><text x="{right + 68}" y="{top + 14}">test</text>'
    ]
    for i, (name, values) in enumerate(curves.items()):
        ink, dash = INFO_INK[i % len(INFO_INK)], INFO_DASHES[i % len(INFO_DASHES)]
        parts.append(line(values, ink, dash, 1.6, name))
        ly = top + 32 + 20 * i
        legend.append(
            f'<line x1="{right + 20}" y1="{ly}" x2="{right + 60}" y2="{ly}" stroke="{ink}" '
            f'stroke-width="1.6" stroke-dasharray="{dash}"/>'
            f'<text x="{right + 68}" y="{ly + 4}">{escape(_clip(name, 20))}</text>'
        )
    return "\n".join([*parts, *legend, "</svg>"])


@dataclass(frozen=True)
class _Axes:
    """Maps eigenvalue numbers (from 1) and values to SVG coordinates of a plot area."""

    left: float
    top: float
    width: float
    height: float
    count: int
    low: float
    high: float

    def x(self, number: float) -> float:
        return self.left + (number - 1) * self.width / max(self.count - 1, 1)

    def y(self, value: float) -> float:
        return self.top + (self.high - value) * self.height / (self.high - self.low)


# key, legend label, dash pattern, marker shape, marker filled
SCREE_SERIES = (
    ("observed_components", "components, observed", "", "circle", True),
    ("observed_factors", "factors, observed", "", "triangle", True),
    ("simulated_components", "components, simulated", "7 4", "circle", False),
    ("simulated_factors", "factors, simulated", "7 4", "triangle", False),
)
SCREE_INK = {"circle": "#1b2f5c", "triangle": "#8a4b12"}
SVG_OPEN = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {h:.0f}" width="{w:.0f}" '
    'height="{h:.0f}" role="img" aria-label="{label}" font-family="system-ui,sans-serif" '
    'font-size="12"><title>{label}</title>'
)


def _ticks(low: float, high: float) -> list[float]:
    raw = (high - low) / 6 or 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    return [first + i * step for i in range(math.ceil((high - first) / step - 1e-9) + 1)]


def _marker(shape: str, x: float, y: float, filled: bool) -> str:
    ink = SCREE_INK[shape]
    paint = f'fill="{ink if filled else "#fff"}" stroke="{ink}"'
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" {paint}/>'
    corners = ((x, y - 5), (x + 4.5, y + 3.5), (x - 4.5, y + 3.5))
    return f'<polygon points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in corners)}" {paint}/>'


def _scree_line(axes: _Axes, key: str, values: list, dash: str, shape: str, filled: bool) -> str:
    points = [(axes.x(i + 1), axes.y(v)) for i, v in enumerate(values) if v is not None]
    coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    line = (
        f'<polyline class="series" data-series="{key}" fill="none" stroke="{SCREE_INK[shape]}" '
        f'stroke-width="2" stroke-dasharray="{dash or "none"}" points="{coordinates}"/>'
    )
    return line + "".join(_marker(shape, x, y, filled) for x, y in points)


def _scree_legend(x: float, y: float) -> str:
    parts = [f'<rect x="{x}" y="{y}" width="205" height="92" fill="#fff" stroke="#999"/>']
    for row, (_, label, dash, shape, filled) in enumerate(SCREE_SERIES):
        ly = y + 16 + row * 20
        parts.append(
            f'<line x1="{x + 10}" y1="{ly}" x2="{x + 50}" y2="{ly}" stroke="{SCREE_INK[shape]}" '
            f'stroke-width="2" stroke-dasharray="{dash or "none"}"/>'
            + _marker(shape, x + 30, ly, filled)
            + f'<text x="{x + 60}" y="{ly + 4}">{label}</text>'
        )
    return "".join(parts)


def _scree_axes(axes: _Axes, ticks: list[float]) -> str:
    bottom, right = axes.top + axes.height, axes.left + axes.width
    parts = [
        f'<line x1="{axes.left}" y1="{axes.y(t):.1f}" x2="{right}" y2="{axes.y(t):.1f}" '
        f'stroke="{"#555" if t == 0 else "#ddd"}"/><text x="{axes.left - 6}" '
        f'y="{axes.y(t) + 4:.1f}" text-anchor="end">{t:g}</text>'
        for t in ticks
    ]
    parts += [
        f'<line x1="{axes.x(n):.1f}" y1="{bottom}" x2="{axes.x(n):.1f}" y2="{bottom + 5}" '
        f'stroke="#333"/><text x="{axes.x(n):.1f}" y="{bottom + 18}" '
        f'text-anchor="middle">{n}</text>'
        for n in range(1, axes.count + 1, max(1, math.ceil(axes.count / 20)))
    ]
    parts += [
        f'<path d="M{axes.left},{axes.top} V{bottom} H{right}" fill="none" stroke="#333"/>',
        f'<text x="{axes.left + axes.width / 2}" y="{bottom + 40}" text-anchor="middle" '
        'font-size="13">factor or component number</text>',
        f'<text transform="translate(16 {axes.top + axes.height / 2}) rotate(-90)" '
        'text-anchor="middle" font-size="13">eigenvalue</text>',
    ]
    return "".join(parts)


def _scree_svg(parallel: dict) -> str:
    """Observed and simulated eigenvalues against their number, as psych's fa.parallel plot."""
    series = {key: parallel.get(key) or [] for key, *_ in SCREE_SERIES}
    values = [v for vs in series.values() for v in vs if v is not None] or [0.0, 1.0]
    ticks = _ticks(min(0.0, *values), max(values))
    count = max(len(vs) for vs in series.values()) or 1
    axes = _Axes(60, 20, 600, 320, count, ticks[0], ticks[-1])
    label = "Scree plot: observed and simulated eigenvalues of components and factors"
    return "\n".join(
        [
            SVG_OPEN.format(w=680, h=400, label=label),
            _scree_axes(axes, ticks),
            *(_scree_line(axes, key, series[key], *style) for key, _, *style in SCREE_SERIES),
            _scree_legend(axes.left + axes.width - 215, axes.top + 10),
            "</svg>",
        ]
    )


CELL_W, CELL_H = 64, 24


def _shade(loading: float | None) -> tuple[str, bool]:
    """Fill of a cell and whether it is dark (light text); lightness falls with |loading|."""
    lightness = 97 - 62 * min(abs(loading or 0.0), 1.0)
    return f"hsl(210,35%,{lightness:.0f}%)", lightness < 58


def _hatch_patterns() -> str:
    return (
        "<defs>"
        + "".join(
            f'<pattern id="{name}" width="6" height="6" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="{ink}" '
            'stroke-width="1.5"/></pattern>'
            for name, ink in (("hatch-dark", "#222"), ("hatch-light", "#fff"))
        )
        + "</defs>"
    )


def _heatmap_cell(x: float, y: float, item: str, factor: str, loading: float | None) -> str:
    fill, dark = _shade(loading)
    ink, hatch = ("#fff", "hatch-light") if dark else ("#111", "hatch-dark")
    salient = loading is not None and abs(loading) >= LOADING_CUTOFF
    box = f'x="{x}" y="{y}" width="{CELL_W}" height="{CELL_H}"'
    hatching = f'<rect {box} fill="url(#{hatch})"/>' if salient and loading < 0 else ""
    return (
        f'<g class="cell" data-item="{escape(item)}" data-factor="{escape(factor)}">'
        f'<rect {box} fill="{fill}" stroke="#fff"/>{hatching}<text x="{x + CELL_W / 2}" '
        f'y="{y + 16}" text-anchor="middle" fill="{ink}" stroke="{fill}" stroke-width="4" '
        f'paint-order="stroke" font-weight="{"bold" if salient else "normal"}">'
        f"{_num(loading, 2)}</text></g>"
    )


def _heatmap_legend(x: float, y: float) -> str:
    parts = [f'<text x="{x}" y="{y - 6}">|loading|</text>']
    for i, level in enumerate((0.0, 0.2, 0.4, 0.6, 0.8, 1.0)):
        parts.append(
            f'<rect x="{x + i * 40}" y="{y}" width="40" height="16" '
            f'fill="{_shade(level)[0]}" stroke="#999"/>'
            f'<text x="{x + i * 40 + 20}" y="{y + 30}" text-anchor="middle">{level:.1f}</text>'
        )
    box = f'x="{x + 260}" y="{y}" width="40" height="16"'
    parts.append(
        f'<rect {box} fill="{_shade(0.5)[0]}"/><rect {box} fill="url(#hatch-dark)" stroke="#999"/>'
        f'<text x="{x + 308}" y="{y + 12}">negative</text>'
    )
    return "".join(parts)


def _heatmap_svg(loadings: dict, factors: list) -> str:
    """Items x factors, shaded by |loading|, hatched where negative, value written in each cell."""
    items = list(loadings)
    left = 16 + 7.5 * min(24, max(map(len, items), default=4))
    top = 28
    bottom = top + CELL_H * len(items)
    width = max(left + CELL_W * len(factors), left + 380) + 12
    parts = [
        SVG_OPEN.format(
            w=width, h=bottom + 68, label="Heatmap of factor loadings, items by factors"
        ),
        _hatch_patterns(),
    ]
    parts += [
        f'<text x="{left + (j + 0.5) * CELL_W}" y="{top - 9}" text-anchor="middle" '
        f'font-weight="bold">{escape(factor)}</text>'
        for j, factor in enumerate(factors)
    ]
    for i, item in enumerate(items):
        y = top + i * CELL_H
        parts.append(
            f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{escape(_clip(item, 24))}</text>'
        )
        parts += [
            _heatmap_cell(left + j * CELL_W, y, item, factor, loadings[item][j])
            for j, factor in enumerate(factors)
        ]
    parts += [_heatmap_legend(left, bottom + 24), "</svg>"]
    return "\n".join(parts)
