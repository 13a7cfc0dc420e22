"""The item bank as a REDCap data dictionary, so a REDCap site can field the same items.

Column names and the choice syntax ("1, Strongly disagree | 2, Disagree") are REDCap's own.
"Does not apply" is the choice ``-7``, as in our CSV export; a skipped item is left empty.

A dictionary is in one language (``export --format redcap-dictionary --language es``): labels,
section headers and choices in that language, the same variable names and codes in every
language. REDCap keeps one set of labels per field; a second language comes in through its
Multi-Language Management module, not through the dictionary (see the README).
"""

from __future__ import annotations

from items import Form
from survey.exports.layout import NOT_APPLICABLE_CODE
from survey.exports.writers import records_csv

DICTIONARY_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
RECORD_ID = "record_id"


def instrument_name(form: Form) -> str:
    """REDCap's form name: lower case letters, digits and underscores."""
    return "healing_" + form.id.replace("-", "_")


def _choices(item) -> str:
    choices = [f"{option.value}, {option.label}" for option in item.scale.options]
    if item.not_applicable:
        choices.append(f"{NOT_APPLICABLE_CODE}, {item.not_applicable_label or 'Does not apply'}")
    return " | ".join(choices)


def dictionary_rows(form: Form) -> list[dict[str, str]]:
    """The record id field, then one radio field per item with a section header per construct."""
    name = instrument_name(form)
    rows = [
        {
            "Variable / Field Name": RECORD_ID,
            "Form Name": name,
            "Field Type": "text",
            "Field Label": "Record ID",
        }
    ]
    for section in form.sections:
        for position, item in enumerate(section.items):
            header = f"{section.heading}. {section.stem}" if position == 0 else ""
            rows.append(
                {
                    "Variable / Field Name": item.id,
                    "Form Name": name,
                    "Section Header": header,
                    "Field Type": "radio",
                    "Field Label": item.text,
                    "Choices, Calculations, OR Slider Labels": _choices(item),
                    "Custom Alignment": "RH",
                    "Field Annotation": f"construct={item.construct}"
                    + (" reverse_keyed" if item.reverse_keyed else ""),
                }
            )
    return rows


def data_dictionary_csv(form: Form) -> str:
    """The REDCap data dictionary CSV text for ``form``."""
    return records_csv(DICTIONARY_COLUMNS, dictionary_rows(form))
