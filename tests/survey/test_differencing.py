"""The adversary: no two views any account can request differ by 1 to MIN_CELL - 1 responses.

On random clinics (seeded), the test applies submissions and expiries ONE AT A TIME and after
each looks at the clinic the way every role can: the functions that feed the pages (every
construct, clinician, period and the comparison, under many filters) and the HTTP paths
(the dashboard CSV as manager, the JSON API as researcher, the clinician's own page). A third
of the patients answer in Spanish, and every view is also asked for per language. It then
checks, for every pair of views:

- the numbers shown (n of every cell shown in both nested selections, and of the same cell
  before and after each event) differ by 0 or at least MIN_CELL;
- the stronger property: the sets of responses behind any two cells of the same construct
  (``survey.aggregates.cell_members``) have a symmetric difference of 0 or at least MIN_CELL.
"""

from __future__ import annotations

import csv
import io
from itertools import combinations

import pytest

from survey.aggregates import cell_members, clinic_summary, comparison_summary
from survey.extensions import db
from survey.release import release_blocks

from .privacy_clinic import apply, build_clinic
from .staff import add_user, sign_in

# The property holds for any cell size; 3 makes many blocks out of a small, fast clinic.
MIN = 3
LANGUAGES = [None, "en", "es"]


def safe(difference: int) -> bool:
    return difference == 0 or abs(difference) >= MIN


def shown_counts(summary: dict, comparison: dict | None = None) -> dict[tuple, int]:
    """Every n a summary shows, by cell: (who, period, construct)."""
    form = summary["filters"]["form"]
    counts = {}
    for construct, cell in summary["overall"].items():
        counts[(form, "clinic", "all", construct)] = cell.get("n")
    for entry in summary["trend"]:
        for construct, cell in entry["constructs"].items():
            counts[(form, "clinic", entry["period"], construct)] = cell.get("n")
    for i, clinician in enumerate(summary["clinicians"]):
        who = clinician.get("id", i)
        for construct, cell in clinician["constructs"].items():
            counts[(form, who, "all", construct)] = cell.get("n")
        for entry in clinician["trend"]:
            for construct, cell in entry["constructs"].items():
                counts[(form, who, entry["period"], construct)] = cell.get("n")
    if comparison is not None:
        for construct, cell in comparison["overall"].items():
            counts[("comparison", "clinic", "all", construct)] = cell.get("n")
        for i, clinician in enumerate(comparison["clinicians"]):
            for construct, cell in clinician["constructs"].items():
                counts[("comparison", clinician.get("id", i), "all", construct)] = cell.get("n")
    return {key: n for key, n in counts.items() if n is not None}


def month_date(month: str | None):
    from datetime import date

    return None if month is None else date(int(month[:4]), int(month[5:]), 1)


def all_selections(months: list[str], max_wave: int) -> list[tuple]:
    """Every (wave, from, to, period, language) a role may ask for: waves all and 1..max, every
    month range over the data's months (open at either end too); trends by month, and by
    quarter without month filters; each language with every month range and wave 1 (to keep
    the test short: the language is a block dimension like the wave)."""
    ranges = [(None, None)]
    ranges += [(a, None) for a in months] + [(None, b) for b in months]
    ranges += [(a, b) for a, b in combinations(months, 2)] + [(m, m) for m in months]
    waves = [None, *range(1, max_wave + 1)]
    chosen = [(w, a, b, "month", None) for w in waves for a, b in ranges]
    chosen += [(w, None, None, "quarter", None) for w in waves]
    for language in LANGUAGES[1:]:
        chosen += [(w, a, b, "month", language) for w in (None, 1) for a, b in ranges]
        chosen += [(None, None, None, "quarter", language)]
    return chosen


def contains(outer: tuple, inner: tuple) -> bool:
    """Whether selection ``outer`` takes every block ``inner`` takes (same period)."""
    wave_ok = outer[0] is None or outer[0] == inner[0]
    start_ok = outer[1] is None or (inner[1] is not None and inner[1] >= outer[1])
    end_ok = outer[2] is None or (inner[2] is not None and inner[2] <= outer[2])
    language_ok = outer[4] is None or outer[4] == inner[4]
    return wave_ok and start_ok and end_ok and outer[3] == inner[3] and language_ok


def members(clinic_id: int, selection: tuple) -> dict[tuple, frozenset[int]]:
    wave, start, end, period, language = selection
    return cell_members(
        clinic_id,
        wave=wave,
        date_from=month_date(start),
        date_to=month_date(end),
        min_cell=MIN,
        period=period,
        language=language,
    )


def summaries(clinic_id: int, selection: tuple) -> dict[tuple, int]:
    wave, start, end, period, language = selection
    options = {
        "wave": wave,
        "date_from": month_date(start),
        "date_to": month_date(end),
        "language": language,
    }
    counts = {}
    for form in ("patient", "clinician-dyad"):
        summary = clinic_summary(clinic_id, form=form, min_cell=MIN, period=period, **options)
        counts |= shown_counts(summary)
    comparison = comparison_summary(clinic_id, min_cell=MIN, **options)
    return counts | shown_counts({"filters": {"form": "x"}, **_no_cells()}, comparison)


def _no_cells() -> dict:
    return {"overall": {}, "trend": [], "clinicians": []}


class SetWitness:
    """Every distinct set of responses seen behind a cell, by form-independent construct."""

    def __init__(self):
        self.sets: dict[str, set[frozenset[int]]] = {}

    def add(self, cells: dict[tuple, frozenset[int]]) -> None:
        for (_, _, _, construct), wave_ids in cells.items():
            self.sets.setdefault(construct, set()).add(wave_ids)

    def check(self) -> int:
        pairs = 0
        for construct, sets in self.sets.items():
            for a, b in combinations(sets, 2):
                pairs += 1
                assert safe(len(a ^ b)), (construct, sorted(a ^ b))
        return pairs


def check_counts_against_members(counts: dict, cells: dict) -> int:
    """Each n shown equals the number of responses ``cell_members`` finds behind that cell."""
    for key, n in counts.items():
        assert n == len(cells.get(key, ())), key
    return len(counts)


def check_nested(views: dict[tuple, dict]) -> int:
    checked = 0
    for outer, inner in combinations(views, 2):
        if not (contains(outer, inner) or contains(inner, outer)):
            continue
        for key in views[outer].keys() & views[inner].keys():
            assert safe(views[outer][key] - views[inner][key]), (outer, inner, key)
            checked += 1
    return checked


def check_before_after(before: dict, after: dict) -> int:
    checked = 0
    for selection in before.keys() & after.keys():
        for key in before[selection].keys() & after[selection].keys():
            assert safe(before[selection][key] - after[selection][key]), (selection, key)
            checked += 1
    return checked


def http_counts(manager, researcher_token: str, clinic_id: int, clinician) -> dict[tuple, int]:
    """The n of every cell in the CSV download, the API summary and the clinician's page."""
    counts = {}
    for query in ("", "?wave=1", "?language=es", "?language=en"):
        response = manager.get(f"/dashboard/clinics/{clinic_id}/scores.csv{query}")
        assert response.status_code == 200
        for row in csv.DictReader(io.StringIO(response.text)):
            if row["n"].isdigit():
                counts[("csv", query, row["clinician"], row["construct"])] = int(row["n"])
        api = manager.get(
            f"/api/v1/clinics/{clinic_id}/summary{query}",
            headers={"Authorization": f"Bearer {researcher_token}"},
        )
        assert api.status_code == 200, api.text
        counts |= {("api", query, *key): n for key, n in shown_counts(api.json).items()}
    page = clinician.get("/dashboard/")
    assert page.status_code == 302
    own = clinician.get(page.headers["Location"]).text
    counts |= {("page", *key): n for key, n in page_counts(own).items()}
    return counts


def page_counts(html: str) -> dict[tuple, int]:
    """The n column of the score tables on a page, by construct and row."""
    import re

    counts = {}
    for figure in html.split('<figure class="chart-figure">')[1:]:
        heading = re.search(r"<h3>([^<]+)</h3>", figure)
        rows = re.findall(
            r'<th scope="row">([^<]+)</th>\s*<td class="num">[^<]*</td>\s*'
            r'<td class="num">[^<]*</td>\s*<td class="num">(\d+)</td>',
            figure,
        )
        for label, n in rows:
            counts[(heading and heading[1], label)] = int(n)
    return counts


@pytest.mark.parametrize("seed", [11, 12])
def test_no_view_differs_from_another_by_a_few_responses(app, seed):
    app.config["HEALING_SURVEY_MIN_CELL"] = MIN
    with app.app_context():
        clinic = build_clinic(f"Random {seed}", seed, dyads=32, months=4, spanish=0.3)
        add_user(f"manager{seed}@example.org", "manager", clinic_id=clinic.clinic_id)
        add_user(
            f"clinician{seed}@example.org",
            "clinician",
            clinic_id=clinic.clinic_id,
            clinician_id=clinic.clinician_ids[0],
        )
        add_user(f"researcher{seed}@example.org", "researcher")
        db.session.commit()
        from survey.api.tokens import create_token

        token = create_token(f"researcher{seed}@example.org", "adversary").token
    manager, clinician = app.test_client(), app.test_client()
    assert sign_in(manager, f"manager{seed}@example.org").status_code == 302
    assert sign_in(clinician, f"clinician{seed}@example.org").status_code == 302

    witness = SetWitness()
    everything = (None, None, None, "month", None)
    spanish = (None, None, None, "month", "es")
    nested = [
        everything,
        (1, None, None, "month", None),
        spanish,
        (None, None, None, "month", "en"),
    ]
    last = len(clinic.events) - 1
    previous, previous_http = None, None
    checked = {"before_after": 0, "http": 0, "nested": 0, "shown": 0}
    with app.app_context():
        for number, event in enumerate(clinic.events):
            apply(event)
            release_blocks(clinic.clinic_id, min_cell=MIN)
            # After every single event: every cell of every page, with the set of responses
            # behind it (the strong property is checked on all sets seen, at the end).
            views = {}
            for selection in (everything, spanish):
                cells = members(clinic.clinic_id, selection)
                witness.add(cells)
                views[selection] = {key: len(ids) for key, ids in cells.items()}
            if previous is not None:
                checked["before_after"] += check_before_after(previous, views)
            previous = views
            if number % 16 != 0 and number != last:
                continue
            # Now and then: what the summaries show, nested filters, and the HTTP paths.
            shown = {}
            for selection in nested:
                selected = members(clinic.clinic_id, selection)
                witness.add(selected)
                shown[selection] = summaries(clinic.clinic_id, selection)
                checked["shown"] += check_counts_against_members(shown[selection], selected)
            checked["nested"] += check_nested(shown)
            now = http_counts(manager, token, clinic.clinic_id, clinician)
            if previous_http is not None:
                for key in now.keys() & previous_http.keys():
                    assert safe(now[key] - previous_http[key]), key
                    checked["http"] += 1
            previous_http = now
        # At the end, every selection a role may ask for.
        final = {}
        for selection in all_selections(clinic.months, clinic.max_wave):
            cells = members(clinic.clinic_id, selection)
            witness.add(cells)
            final[selection] = {key: len(ids) for key, ids in cells.items()}
        checked["nested"] += check_nested(final)
    pairs = witness.check()
    # The test saw real cells, not only empty ones.
    assert pairs > 30 and all(count > 0 for count in checked.values()), checked
    assert max(n for view in final.values() for n in view.values()) >= 3 * MIN
    # Spanish answers were shown, in cells of their own.
    spanish_cells = [n for (*_, lang), view in final.items() if lang == "es" for n in view.values()]
    assert max(spanish_cells) >= MIN
