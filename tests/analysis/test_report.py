"""The text summary and the HTML report of a workup of R's bfi data (five scales, with CFA)."""

from __future__ import annotations

import copy
import doctest
import re
import xml.etree.ElementTree as ET
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import analysis.report
from analysis.report import html_report, text_summary
from analysis.workup import WorkupOptions, run_workup
from items import ScaleSpec

DATA = Path(__file__).parent / "data" / "a_bfi.csv"
SCALES = {
    "agree": ["-A1", "A2", "A3", "A4", "A5"],
    "consc": ["C1", "C2", "C3", "-C4", "-C5"],
    "extra": ["-E1", "-E2", "E3", "E4", "E5"],
    "neuro": ["N1", "N2", "N3", "N4", "N5"],
    "open": ["O1", "-O2", "O3", "O4", "-O5"],
}
HOSTILE = "<img src=x onerror=alert(1)>"
SVG = "{http://www.w3.org/2000/svg}"
VOID = {"meta", "br", "img", "input", "link", "hr", "wbr", "col", "source"}
EFA_FIT_KEYS = (
    "factors",
    "communalities",
    "uniquenesses",
    "factor_correlations",
    "variance",
    "converged",
)


def _workup(data: pd.DataFrame, scales: dict) -> dict:
    spec = ScaleSpec.from_mapping({"range": [1, 6], "scales": scales})
    return run_workup(data, spec, WorkupOptions(seed=1, cfa=True)).to_dict()


@pytest.fixture(scope="module")
def result() -> dict:
    return _workup(pd.read_csv(DATA), SCALES)


@pytest.fixture(scope="module")
def page(result) -> str:
    return html_report(result)


class _Elements(HTMLParser):
    """Every start tag with its attributes, and end tags that do not close the open element."""

    def __init__(self):
        super().__init__()
        self.tags, self.open, self.mismatched = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.open or self.open.pop() != tag:
            self.mismatched.append(tag)


def _parse(page: str) -> _Elements:
    parser = _Elements()
    parser.feed(page)
    parser.close()
    return parser


def _svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(fragment) for fragment in re.findall(r"<svg\b.*?</svg>", page, re.S)]


def _svg(page: str, label_start: str) -> ET.Element:
    (svg,) = [svg for svg in _svgs(page) if svg.get("aria-label").startswith(label_start)]
    return svg


def _null_cases(result: dict, *, efa: bool) -> dict:
    """The workup dict as it is without omega, CFA, parallel analysis and (maybe) EFA."""
    bare = copy.deepcopy(result)
    bare.update(omega=None, cfa=None)
    bare["efa"]["parallel"] = None
    bare["options"]["factors"] = 6
    if not efa:
        bare["efa"].update(n_factors=None, loadings={})
        for key in EFA_FIT_KEYS:
            del bare["efa"][key]
    return bare


def test_page_is_well_formed_html(page):
    parser = _parse(page)
    assert page.startswith("<!DOCTYPE html>")
    assert parser.mismatched == []
    assert parser.open == []
    assert [tag for tag, _ in parser.tags[:3]] == ["html", "head", "meta"]


def test_every_svg_is_well_formed_xml_with_title_and_label(page):
    svgs = _svgs(page)
    assert len(svgs) == 2
    for svg in svgs:
        assert svg.get("role") == "img"
        assert svg.get("aria-label")
        assert svg.find(f"{SVG}title").text


def test_page_is_self_contained(page):
    assert "<script" not in page.lower()
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    tags = {tag for tag, _ in _parse(page).tags}
    assert not tags & {"link", "img", "iframe", "object", "embed"}


def test_reliability_table_shows_each_alpha(result, page):
    for name, scale in result["scales"].items():
        row = f'<td class="t">{name}</td><td>5</td><td>{scale["alpha"]:.3f}</td>'
        assert row in page


def test_item_statistics_table_has_every_item(result, page):
    for item, stats in result["items"].items():
        assert f'<td class="t">{item}</td><td>{stats["n"]:.0f}</td>' in page


def test_scree_plot_has_one_line_per_eigenvalue_series(result, page):
    svg = _svg(page, "Scree")
    lines = svg.findall(f".//{SVG}polyline")
    parallel = result["efa"]["parallel"]
    series = {line.get("data-series"): line for line in lines}
    assert len(lines) == 4
    assert set(series) == {
        "observed_components",
        "observed_factors",
        "simulated_components",
        "simulated_factors",
    }
    for key, line in series.items():
        assert len(line.get("points").split()) == len(parallel[key])
        assert (line.get("stroke-dasharray") != "none") == key.startswith("simulated")
    # one marker per eigenvalue and one per legend entry: circles for components, triangles
    # for factors
    assert len(svg.findall(f".//{SVG}circle")) == 2 * 25 + 2
    assert len(svg.findall(f".//{SVG}polygon")) == 2 * 25 + 2


def test_heatmap_has_one_cell_per_loading_with_its_value(result, page):
    efa = result["efa"]
    cells = _svg(page, "Heatmap").findall(f".//{SVG}g[@class='cell']")
    assert len(cells) == len(efa["loadings"]) * len(efa["factors"]) == 25 * 6
    written = {(cell.get("data-item"), cell.get("data-factor")): cell for cell in cells}
    for item, row in efa["loadings"].items():
        for factor, loading in zip(efa["factors"], row, strict=True):
            cell = written[item, factor]
            expected = f"{loading:.2f}"
            assert cell.find(f"{SVG}text").text == expected.replace("-0.00", "0.00")
            hatched = len(cell.findall(f"{SVG}rect")) == 2
            assert hatched == (loading <= -0.30)


def test_loadings_table_is_in_details(result, page):
    details = re.search(
        r"<details><summary>Loadings as a table</summary>(.*?)</details>", page, re.S
    )
    n2 = result["efa"]["loadings"]["N2"]
    assert details is not None
    assert "".join(f"<td>{v:.3f}</td>" for v in n2) in details.group(1)


def test_cfa_fit_and_modification_indices_are_shown(result, page):
    cfa = result["cfa"]
    assert f'<td class="t">CFI</td><td>{cfa["cfi"]:.3f}</td>' in page
    assert "Hu &amp; Bentler (1999)" in page
    largest = max(cfa["modification_indices"], key=lambda row: row["mi"])
    assert f"<td>{largest['mi']:.2f}</td>" in page


def test_p_values_are_written_in_apa_style(result, page):
    assert "p &lt; .001" in page
    changed = copy.deepcopy(result)
    changed["efa"]["bartlett"]["p"] = 0.02345
    assert "p = .023" in text_summary(changed)


def test_hostile_item_name_is_escaped():
    scales = {**SCALES, "agree": ["-" + HOSTILE, "A2", "A3", "A4", "A5"]}
    data = pd.read_csv(DATA).rename(columns={"A1": HOSTILE})
    page = html_report(_workup(data, scales), title=HOSTILE)
    assert HOSTILE not in page
    assert escape(HOSTILE) in page
    assert "img" not in {tag for tag, _ in _parse(page).tags}
    cells = _svg(page, "Heatmap").findall(f".//{SVG}g[@class='cell']")
    assert {cell.get("data-item") for cell in cells} >= {HOSTILE}


def test_text_summary_names_scales_kmo_and_cfa(result):
    text = text_summary(result)
    for name in result["scales"]:
        assert re.search(rf"^{name}\s+5\s+{result['scales'][name]['alpha']:.3f}", text, re.M)
    assert f"KMO = {result['efa']['kmo']:.3f} (meritorious" in text
    assert re.search(rf"^CFI\s+{result['cfa']['cfi']:.3f}\s+>= \.95\s+no$", text, re.M)
    assert "Hu & Bentler 1999" in text
    assert max(map(len, text.splitlines())) <= 100


def test_text_summary_lists_the_five_largest_modification_indices(result):
    text = text_summary(result)
    ranked = sorted(result["cfa"]["modification_indices"], key=lambda row: -row["mi"])
    shown = [f"{row['lhs']} {row['op']} {row['rhs']}  " in text for row in ranked[:6]]
    assert shown == [True] * 5 + [False]


def test_text_loadings_blank_below_cutoff(result):
    text = text_summary(result)
    n1 = re.search(r"^N1 .*$", text, re.M).group(0)
    assert n1.split() == ["N1", f"{result['efa']['loadings']['N1'][0]:.2f}"]


@pytest.mark.parametrize(
    ("kmo", "label"),
    [
        (0.90, "marvelous"),
        (0.899, "meritorious"),
        (0.80, "meritorious"),
        (0.70, "middling"),
        (0.60, "mediocre"),
        (0.50, "miserable"),
        (0.499, "unacceptable"),
    ],
)
def test_kmo_has_kaisers_label(result, kmo, label):
    changed = copy.deepcopy(result)
    changed["efa"]["kmo"] = kmo
    assert f"KMO = {kmo:.3f} ({label}," in text_summary(changed)


def test_without_omega_cfa_and_parallel_analysis(result):
    bare = _null_cases(result, efa=True)
    page, text = html_report(bare), text_summary(bare)
    assert _parse(page).mismatched == []
    assert [svg.get("aria-label") for svg in _svgs(page)] == [
        "Heatmap of factor loadings, items by factors"
    ]
    assert "No CFA was run" in page
    assert "omega hierarchical" not in page
    assert "CFA: not run" in text
    assert "Parallel analysis: not run (number of factors given: 6)" in text


def test_without_efa(result):
    bare = _null_cases(result, efa=False)
    page, text = html_report(bare), text_summary(bare)
    assert _parse(page).mismatched == []
    assert _svgs(page) == []
    assert "No EFA was run" in page
    assert "EFA: not run" in text


def test_docstring_examples_run():
    outcome = doctest.testmod(analysis.report)
    assert outcome.attempted > 0
    assert outcome.failed == 0


def test_one_factor_is_singular_and_long_scale_names_are_not_cut(result):
    one = copy.deepcopy(result)
    one["scales"] = {"appreciating_power": one["scales"]["agree"], **one["scales"]}
    one["efa"]["parallel"].update(n_factors=1, n_components=1)
    one["efa"]["n_factors"] = 1
    text = text_summary(one)
    assert "1 factors" not in text and "1 components" not in text
    assert "Parallel analysis: 1 factor, 1 component" in text
    assert "appreciating_power" in text and "appreciating_~" not in text
    assert max(map(len, text.splitlines())) <= 100
    assert "1 factors" not in html_report(one)


def test_no_negative_zero_is_written(result):
    tiny = copy.deepcopy(result)
    item = next(iter(tiny["efa"]["loadings"]))
    tiny["efa"]["loadings"][item] = [-0.001] * len(tiny["efa"]["loadings"][item])
    heatmap = ET.tostring(_svg(html_report(tiny), "Heatmap"), encoding="unicode")
    assert "-0.00" not in heatmap and ">0.00<" in heatmap
