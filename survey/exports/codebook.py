"""The codebook of an export (CSV and Markdown) and an R script that reads the CSV with labels.

A codebook is in one language: item texts, stems and response labels as the bank words them in
that language, with each item's translation status. Retired items keep the wording they were
asked in (they were never translated): their status says so.
"""

from __future__ import annotations

from survey.exports.layout import MISSING_LABELS, Layout
from survey.exports.writers import records_csv
from survey.languages import language_codes, language_name

CODEBOOK_HEADER = (
    "variable",
    "label",
    "type",
    "construct",
    "facet",
    "reverse_keyed",
    "values",
    "missing_codes",
    "retired_in",
    "translation",
)
UNTRANSLATED = "untranslated (retired before translation; the wording it was asked in)"


def _value_labels(item) -> str:
    return "; ".join(f"{option.value}={option.label}" for option in item.scale.options)


def _missing_codes(item) -> str:
    codes = [(-9, MISSING_LABELS[-9])]
    if item.not_applicable:
        codes.insert(0, (-7, item.not_applicable_label or MISSING_LABELS[-7]))
    return "; ".join(f"{code}={label}" for code, label in codes)


def _translation(layout: Layout, item) -> str:
    """An item's translation status in the codebook's language."""
    if item.retired_in is not None and layout.translation != "source":
        return UNTRANSLATED
    return layout.translation


def language_values() -> str:
    """The language column's values, and their numbers in the .sav and .dta files.

    >>> language_values()
    'en=English; es=Spanish (in .sav and .dta: 1=en; 2=es)'
    """
    codes = language_codes()
    names = "; ".join(f"{code}={language_name(code)}" for code in codes)
    numbers = "; ".join(f"{number}={code}" for code, number in codes.items())
    return f"{names} (in .sav and .dta: {numbers})"


def codebook_rows(layout: Layout) -> list[dict[str, str]]:
    """One row per column of the wide export: metadata first, then items in bank order."""
    rows = [
        {"variable": column.name, "label": column.label, "type": column.kind}
        for column in layout.meta_columns
    ]
    for row in rows:
        if row["variable"] == "language":
            row["values"] = language_values()
    for item in layout.all_items:
        rows.append(
            {
                "variable": item.id,
                "label": item.text,
                "type": "ordinal",
                "construct": item.construct,
                "facet": item.facet or "",
                "reverse_keyed": "yes" if item.reverse_keyed else "no",
                "values": _value_labels(item),
                "missing_codes": _missing_codes(item),
                "retired_in": item.retired_in or "",
                "translation": _translation(layout, item),
            }
        )
    return rows


def codebook_csv(layout: Layout) -> str:
    """The codebook as CSV text."""
    return records_csv(CODEBOOK_HEADER, codebook_rows(layout))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def codebook_markdown(layout: Layout, *, bank_version: str) -> str:
    """The codebook as Markdown: missing codes, metadata columns, then items per construct."""
    form = layout.form
    lines = [
        f"# Codebook: {form.title} (form `{form.id}`, item bank {bank_version})",
        "",
        f"Item texts and labels in {language_name(layout.language)} (`{layout.language}`), "
        f"translation status: {layout.translation}. Responses of every language are in the "
        f"export; the `language` column says which ({language_values()}).",
        "",
        "One row per submitted response. Item cells hold the answer on the response scale, or:",
        "",
        "| code | meaning |",
        "|---|---|",
        '| -7 | the respondent chose "does not apply" (only items that offer it) |',
        "| -9 | skipped: no answer when the form was submitted |",
        "| (empty) | the item was not part of this response (another item bank version) |",
        "",
    ]
    if layout.deidentified:
        lines += [
            "De-identified export: clinics, clinicians, dyads and responses appear as stable",
            "pseudonyms (HMAC-SHA256 under the site's secret key), dates are coarsened to the",
            "month, and the clinic's free-text patient reference is dropped.",
            "",
        ]
    lines += ["## Metadata columns", "", "| variable | label | type |", "|---|---|---|"]
    lines += [f"| `{c.name}` | {_cell(c.label)} | {c.kind} |" for c in layout.meta_columns]
    for section in form.sections:
        construct = section.construct
        lines += [
            "",
            f"## {construct.name} (`{construct.id}`, {construct.part})",
            "",
            _cell(" ".join(construct.definition.split())),
            "",
            f"Stem: {section.stem}",
            "",
            "| variable | wording | facet | reverse keyed | values | missing codes |",
            "|---|---|---|---|---|---|",
        ]
        for item in section.items:
            lines.append(
                f"| `{item.id}` | {_cell(item.text)} | {item.facet or ''} | "
                f"{'yes' if item.reverse_keyed else 'no'} | {_cell(_value_labels(item))} | "
                f"{_cell(_missing_codes(item))} |"
            )
    if form.retired:
        lines += [
            "",
            "## Retired items",
            "",
            "No longer asked. Answers given under older bank versions are in the long export",
            "(`csv-long`), under these ids, with the wording they were asked in"
            + (" (never translated)." if layout.translation != "source" else "."),
            "",
            "| variable | wording | construct | retired in | replaced by | why |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| `{item.id}` | {_cell(item.text)} | {item.construct} | {item.retired_in} | "
            f"`{item.replaced_by}` | {_cell(item.retired_because or '')} |"
            for item in form.retired
        ]
    return "\n".join(lines) + "\n"


def _r_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def r_script(layout: Layout, *, csv_name: str) -> str:
    """Base-R code that reads the wide CSV, turns -7/-9 into NA and attaches the labels."""
    form = layout.form
    items = form.items
    scale = items[0].scale
    item_vector = ", ".join(_r_string(item.id) for item in items)
    labels = ",\n  ".join(f"{item.id} = {_r_string(item.text)}" for item in items)
    levels = ", ".join(str(option.value) for option in scale.options)
    level_labels = ", ".join(_r_string(option.label) for option in scale.options)
    reverse = ", ".join(_r_string(item.id) for item in items if item.reverse_keyed)
    text_columns = ", ".join(
        f"{c.name} = {_r_string('character')}" for c in layout.meta_columns if c.kind != "int"
    )
    return f"""# Read the healing-survey export of form "{form.id}" with its labels (base R only).
# -7 (does not apply) and -9 (skipped) become NA; the codes stay in <item>_code columns.
hs <- read.csv({_r_string(csv_name)}, na.strings = "", check.names = FALSE,
               colClasses = c({text_columns}))
items <- c({item_vector})
for (v in items) {{
  hs[[paste0(v, "_code")]] <- ifelse(hs[[v]] == -7, "not_applicable",
                              ifelse(hs[[v]] == -9, "skipped", NA))
  hs[[v]][hs[[v]] %in% c(-7, -9)] <- NA
}}
item_labels <- c(
  {labels}
)
for (v in items) attr(hs[[v]], "label") <- item_labels[[v]]
reverse_keyed <- c({reverse})
# Ordered factors with the response labels, for tables and plots:
hs_labelled <- hs
hs_labelled[items] <- lapply(hs[items], factor, levels = c({levels}),
                             labels = c({level_labels}), ordered = TRUE)
"""
