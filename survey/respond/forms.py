"""WTForms built from the item bank: one form class per section (a construct's page)."""

from __future__ import annotations

from functools import cache

from flask_babel import gettext
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import RadioField, SelectChoice
from wtforms.validators import Optional

from items import NOT_APPLICABLE, Item, Section, load_bank

NAV_FIELD = "nav"
# A button per question that takes its answer back: its value is the item's id.
CLEAR_FIELD = "clear"
CONTROL_FIELDS = frozenset({"csrf_token", NAV_FIELD, CLEAR_FIELD})


def item_choices(item: Item) -> list[SelectChoice]:
    choices = [SelectChoice(str(option.value), option.label) for option in item.scale.options]
    if item.not_applicable:
        label = item.not_applicable_label or gettext("Does not apply")
        choices.append(SelectChoice(NOT_APPLICABLE, label))
    return choices


@cache
def section_form_class(
    form_id: str, section_index: int, language: str, clinician_term: str | None = None
) -> type[FlaskForm]:
    """A FlaskForm subclass with one optional radio field per item of the section, its labels in
    ``language``, naming the clinician by ``clinician_term`` (the clinic's choice)."""
    bank = load_bank(language=language, clinician_term=clinician_term)
    section = bank.form(form_id).sections[section_index]
    fields = {
        item.id: RadioField(
            item.text,
            choices=item_choices(item),
            validators=[Optional()],
            name=item.id,
        )
        for item in section.items
    }
    name = f"Section_{form_id.replace('-', '_')}_{section_index}_{language}_{clinician_term}"
    return type(name, (FlaskForm,), fields)


def unknown_fields(posted: MultiDict, section: Section) -> list[str]:
    """Names in a posted page that are neither its items nor the form's controls."""
    expected = {item.id for item in section.items} | CONTROL_FIELDS
    return sorted(key for key in posted if key not in expected)


def repeated_fields(posted: MultiDict) -> list[str]:
    return sorted(key for key in posted if len(posted.getlist(key)) > 1)


def answer_value(raw: str | None) -> int | str | None:
    """A validated radio value as stored: an int, the "does not apply" code, or None."""
    if raw is None or raw == "":
        return None
    return raw if raw == NOT_APPLICABLE else int(raw)


def single_answer(item: Item, raw: str | None) -> int | str | None:
    """One answer posted on its own (saved as it is chosen): a value of the item's scale, its
    "does not apply" code, or "" for a cleared answer (None). Anything else is ValueError."""
    if raw is None or raw == "":
        return None
    allowed = {choice.value for choice in item_choices(item)}
    if raw not in allowed:
        raise ValueError(f"{raw!r} is not an answer to {item.id}")
    return answer_value(raw)
