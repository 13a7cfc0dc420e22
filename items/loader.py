"""Read an item bank from YAML and check every reference in it before anyone relies on it.

A bank is a ``bank.yaml`` (version, language, response scales, constructs, forms) whose
``forms`` list holds either whole forms or form ids; a form id ``x`` is read from the file
``form-x.yaml`` beside it. Every error names the file and the item, construct or form at fault.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml

from items.model import (
    AUDIENCES,
    PARTS,
    BankError,
    Construct,
    Facet,
    Form,
    Item,
    ItemBank,
    ResponseOption,
    ResponseScale,
    Section,
)

BANK_FILE = "bank.yaml"
FORM_FILE = "form-{}.yaml"
DEFAULT_NOT_APPLICABLE_LABEL = "Does not apply"
# Item ids become form field names and data columns; a leading "-" means reverse keying there.
_ITEM_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_T = TypeVar("_T", Construct, Facet, Form, ResponseScale)

_BANK_KEYS = (
    {"version", "language", "scales", "constructs", "forms"},
    {"translations", "clinician_terms"},
)
TRANSLATION_FILE = "translation-{}.yaml"
TRANSLATION_STATUSES = ("draft", "reviewed")
CLINICIAN_PLACEHOLDER = "{clinician}"
DEFAULT_CLINICIAN_TERM = "clinician"
_TRANSLATION_KEYS = (
    {"language", "status", "clinician_terms", "scales", "forms"},
    {"record"},
)
_TRANSLATED_FORM_KEYS = (
    {"title", "intro", "who_sees", "sections", "items"},
    {"not_applicable_label"},
)
_TRANSLATED_SECTION_KEYS = ({"heading"}, {"stem"})
_SCALE_KEYS = ({"id", "options"}, set())
_OPTION_KEYS = ({"value", "label"}, set())
_CONSTRUCT_KEYS = ({"id", "name", "definition", "part"}, {"facets"})
_FACET_KEYS = ({"id", "name", "meaning"}, set())
_FORM_KEYS = (
    {"id", "title", "intro", "audience", "who_sees", "sections"},
    {"scale", "not_applicable_label", "retired"},
)
_SECTION_KEYS = ({"construct", "heading", "items"}, {"stem"})
_RETIRED_KEYS = (
    {"id", "construct", "text", "retired_in", "replaced_by", "because"},
    {"facet", "scale", "reverse_keyed", "not_applicable"},
)
_ITEM_KEYS = ({"id", "text"}, {"facet", "scale", "reverse_keyed", "not_applicable"})


def load_bank(
    path: str | os.PathLike[str] | None = None,
    *,
    language: str | None = None,
    clinician_term: str | None = None,
) -> ItemBank:
    """Load and validate an item bank, in one of its languages.

    Parameters
    ----------
    path : str or PathLike, optional
        A bank YAML file, or a directory holding ``bank.yaml``. None (the default) loads the
        bank shipped with this package, read once per process.
    language : str, optional
        The language of every text (items, headings, stems, labels); the bank's own language by
        default. Other languages come from ``translation-<language>.yaml`` beside the bank.
    clinician_term : str, optional
        How the forms name the clinician: a key of the bank's ``clinician_terms`` (``clinician``
        by default, or ``doctor``, ``nurse_practitioner``), put in place of ``{clinician}``.

    Returns
    -------
    ItemBank

    Raises
    ------
    BankError
        If a file is missing or not valid YAML, or the bank is inconsistent: an unknown
        construct, facet or response scale, a badly formed scale, an unknown construct part,
        a duplicate id, an item without text, more than one reverse-keyed item per construct
        in a form, a form or section without items, a translation lacking any item or label,
        or an unknown language or clinician term.

    Examples
    --------
    >>> bank = load_bank()
    >>> bank.version == load_bank().version and bank is load_bank()
    True
    >>> len(bank.form("patient").sections)
    6
    >>> load_bank(language="es").form("patient").item("pt_val_1").text
    'Mi profesional de salud me trata como una persona que importa.'
    >>> load_bank(clinician_term="doctor").form("patient").item("pt_val_1").text
    'My doctor treats me as a person who matters.'
    """
    if path is None:
        return _packaged_bank(language, clinician_term)
    location = Path(path)
    if location.is_dir():
        source = _read_bank(location / BANK_FILE, location)
    else:
        source = _read_bank(location, location.parent)
    return _localize(source, language, clinician_term)


@lru_cache(maxsize=1)
def _packaged_source() -> _SourceBank:
    root = resources.files("items")
    return _read_bank(root / BANK_FILE, root)


@lru_cache(maxsize=32)
def _packaged_bank(language: str | None, clinician_term: str | None) -> ItemBank:
    return _localize(_packaged_source(), language, clinician_term)


@dataclass(frozen=True)
class _Translation:
    language: str
    status: str
    source: str
    clinician_terms: Mapping[str, str]
    scales: Mapping[str, Mapping[int, str]]
    forms: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class _SourceBank:
    """The bank as written (``{clinician}`` left in place) and its checked translations."""

    bank: ItemBank
    translations: Mapping[str, _Translation]


def _read_bank(bank_file: Traversable, root: Traversable) -> ItemBank:
    source = str(bank_file)
    data = _read_yaml(bank_file)
    _check_keys(data, _BANK_KEYS, source, "the bank")
    scales = _by_id(
        (_parse_scale(entry, source) for entry in _list(data, "scales", source, "the bank")),
        source,
        "response scale",
    )
    constructs = _by_id(
        (
            _parse_construct(entry, source)
            for entry in _list(data, "constructs", source, "the bank")
        ),
        source,
        "construct",
    )
    item_files: dict[str, str] = {}
    forms = _by_id(
        (
            _parse_form(*_form_document(entry, source, root), scales, constructs, item_files)
            for entry in _list(data, "forms", source, "the bank")
        ),
        source,
        "form",
    )
    language = _text(data, "language", source, "the bank")
    terms = _terms(data.get("clinician_terms"), source, "the bank", None)
    translations = {}
    for other in _list(data, "translations", source, "the bank", []):
        translation = _read_translation(root / TRANSLATION_FILE.format(other), other)
        translations[other] = translation
    statuses = {language: "source"} | {t.language: t.status for t in translations.values()}
    bank = ItemBank(
        version=_text(data, "version", source, "the bank"),
        language=language,
        constructs=MappingProxyType(constructs),
        forms=MappingProxyType(forms),
        languages=MappingProxyType(statuses),
        clinician_terms=MappingProxyType(terms),
    )
    for translation in translations.values():
        _check_translation_complete(bank, translation)
    return _SourceBank(bank=bank, translations=MappingProxyType(translations))


def _read_yaml(file: Traversable) -> Any:
    try:
        return yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise BankError(f"{file}: cannot read the item bank file: {error}") from error
    except yaml.YAMLError as error:
        raise BankError(f"{file}: not valid YAML: {error}") from error


def _form_document(entry: Any, source: str, root: Traversable) -> tuple[Any, str]:
    """A form given inline, or by id in its own file next to the bank file."""
    if not isinstance(entry, str):
        return entry, source
    form_file = root / FORM_FILE.format(entry)
    data = _read_yaml(form_file)
    if isinstance(data, Mapping) and data.get("id") != entry:
        raise BankError(
            f"{form_file}: form {entry!r}: the file's id is {data.get('id')!r}; "
            f"expected {entry!r} (the name it is listed under in {source})"
        )
    return data, str(form_file)


def _parse_scale(data: Any, source: str) -> ResponseScale:
    scale_id = _id_of(data, source, "response scale")
    where = f"response scale {scale_id!r}"
    _check_keys(data, _SCALE_KEYS, source, where)
    options = tuple(
        _parse_option(entry, source, where) for entry in _list(data, "options", source, where)
    )
    values = [option.value for option in options]
    if len(options) < 2:
        raise BankError(f"{source}: {where}: has {len(options)} option(s); expected at least 2")
    duplicates = sorted({value for value in values if values.count(value) > 1})
    if duplicates:
        raise BankError(f"{source}: {where}: duplicate option value(s) {duplicates}")
    if values != sorted(values):
        raise BankError(f"{source}: {where}: option values {values} must be in ascending order")
    return ResponseScale(id=scale_id, options=options)


def _parse_option(data: Any, source: str, where: str) -> ResponseOption:
    _check_keys(data, _OPTION_KEYS, source, f"{where}: an option")
    value = data["value"]
    if not isinstance(value, int) or isinstance(value, bool):
        raise BankError(f"{source}: {where}: option value {value!r} is not an integer")
    return ResponseOption(
        value=value, label=_text(data, "label", source, f"{where}: option {value}")
    )


def _parse_construct(data: Any, source: str) -> Construct:
    construct_id = _id_of(data, source, "construct")
    where = f"construct {construct_id!r}"
    _check_keys(data, _CONSTRUCT_KEYS, source, where)
    part = data["part"]
    if part not in PARTS:
        raise BankError(f"{source}: {where}: part {part!r} is not one of {', '.join(PARTS)}")
    facets = _by_id(
        (_parse_facet(entry, source, where) for entry in _list(data, "facets", source, where, [])),
        source,
        f"{where}: facet",
    )
    return Construct(
        id=construct_id,
        name=_text(data, "name", source, where),
        definition=_text(data, "definition", source, where),
        part=part,
        facets=tuple(facets.values()),
    )


def _parse_facet(data: Any, source: str, construct_where: str) -> Facet:
    facet_id = _id_of(data, source, f"{construct_where}: facet")
    where = f"{construct_where}: facet {facet_id!r}"
    _check_keys(data, _FACET_KEYS, source, where)
    return Facet(
        id=facet_id,
        name=_text(data, "name", source, where),
        meaning=_text(data, "meaning", source, where),
    )


def _parse_form(
    data: Any,
    source: str,
    scales: Mapping[str, ResponseScale],
    constructs: Mapping[str, Construct],
    item_files: dict[str, str],
) -> Form:
    form_id = _id_of(data, source, "form")
    where = f"form {form_id!r}"
    _check_keys(data, _FORM_KEYS, source, where)
    audience = data["audience"]
    if audience not in AUDIENCES:
        raise BankError(
            f"{source}: {where}: audience {audience!r} is not one of {', '.join(AUDIENCES)}"
        )
    context = _FormContext(
        form_id=form_id,
        source=source,
        scales=scales,
        default_scale=data.get("scale"),
        not_applicable_label=_text(
            data, "not_applicable_label", source, where, DEFAULT_NOT_APPLICABLE_LABEL
        ),
        item_files=item_files,
    )
    entries = _list(data, "sections", source, where)
    if not entries:
        raise BankError(f"{source}: {where}: has no items; expected at least one section")
    sections = tuple(_parse_section(entry, context, constructs) for entry in entries)
    _by_id((section.construct for section in sections), source, f"{where}: section for construct")
    retired = tuple(
        _parse_retired(entry, context, constructs)
        for entry in _list(data, "retired", source, where, [])
    )
    current = {item.id for section in sections for item in section.items}
    for item in retired:
        if item.replaced_by is not None and item.replaced_by not in current:
            raise BankError(
                f"{source}: {where}: retired item {item.id!r} is replaced by "
                f"{item.replaced_by!r}, which the form does not ask"
            )
    return Form(
        id=form_id,
        title=_text(data, "title", source, where),
        intro=_text(data, "intro", source, where),
        audience=audience,
        who_sees=_text(data, "who_sees", source, where),
        sections=sections,
        retired=retired,
    )


def _parse_retired(data: Any, context: _FormContext, constructs: Mapping[str, Construct]) -> Item:
    """An item no longer asked, kept so that its answers keep their wording."""
    source = context.source
    item_id = _id_of(data, source, f"form {context.form_id!r}: a retired item")
    where = f"retired item {item_id!r}"
    _check_keys(data, _RETIRED_KEYS, source, where)
    construct_id = data["construct"]
    if construct_id not in constructs:
        raise BankError(f"{source}: {where}: unknown construct {construct_id!r}")
    fields = {
        key: data[key]
        for key in ("id", "text", "facet", "scale", "reverse_keyed", "not_applicable")
        if key in data
    }
    item = _parse_item(fields, context, constructs[construct_id])
    return replace(
        item,
        retired_in=_text(data, "retired_in", source, where),
        replaced_by=data["replaced_by"],
        retired_because=_text(data, "because", source, where),
    )


@dataclass(frozen=True)
class _FormContext:
    """What every item of one form is checked against."""

    form_id: str
    source: str
    scales: Mapping[str, ResponseScale]
    default_scale: Any
    not_applicable_label: str
    item_files: dict[str, str]  # item id -> the file that defined it, across all forms


def _parse_section(
    data: Any, context: _FormContext, constructs: Mapping[str, Construct]
) -> Section:
    source = context.source
    form_where = f"form {context.form_id!r}"
    _check_keys(data, _SECTION_KEYS, source, f"{form_where}: a section")
    construct_id = data["construct"]
    if construct_id not in constructs:
        raise BankError(
            f"{source}: {form_where}: unknown construct {construct_id!r}; "
            f"expected one of: {', '.join(constructs)}"
        )
    construct = constructs[construct_id]
    where = f"{form_where}: section {construct_id!r}"
    items = tuple(
        _parse_item(entry, context, construct) for entry in _list(data, "items", source, where)
    )
    if not items:
        raise BankError(f"{source}: {where}: has no items; expected at least one")
    reverse_keyed = [item.id for item in items if item.reverse_keyed]
    if len(reverse_keyed) > 1:
        raise BankError(
            f"{source}: {where}: {len(reverse_keyed)} reverse-keyed items "
            f"({', '.join(reverse_keyed)}); expected at most one per construct per form"
        )
    return Section(
        construct=construct,
        heading=_text(data, "heading", source, where),
        stem=_text(data, "stem", source, where, ""),
        items=items,
    )


def _parse_item(data: Any, context: _FormContext, construct: Construct) -> Item:
    source = context.source
    item_id = _id_of(data, source, f"form {context.form_id!r}: section {construct.id!r}: item")
    where = f"item {item_id!r}"
    if not _ITEM_ID.fullmatch(item_id):
        raise BankError(
            f"{source}: {where}: expected an id of letters, digits and '_', starting with a letter"
        )
    if item_id in context.item_files:
        raise BankError(
            f"{source}: {where}: duplicate item id; already used in {context.item_files[item_id]}"
        )
    context.item_files[item_id] = source
    _check_keys(data, _ITEM_KEYS, source, where)
    not_applicable = _flag(data, "not_applicable", source, where)
    return Item(
        id=item_id,
        form=context.form_id,
        construct=construct.id,
        facet=_item_facet(data.get("facet"), construct, source, where),
        text=_text(data, "text", source, where),
        scale=_item_scale(data.get("scale", context.default_scale), context, where),
        reverse_keyed=_flag(data, "reverse_keyed", source, where),
        not_applicable=not_applicable,
        not_applicable_label=context.not_applicable_label if not_applicable else None,
    )


def _item_facet(facet: Any, construct: Construct, source: str, where: str) -> str | None:
    known = [known_facet.id for known_facet in construct.facets]
    if facet is None and not known:
        return None
    if facet is None:
        raise BankError(
            f"{source}: {where}: no facet; construct {construct.id!r} expects one of: "
            f"{', '.join(known)}"
        )
    if facet not in known:
        expected = f"one of: {', '.join(known)}" if known else "no facet (null)"
        raise BankError(
            f"{source}: {where}: unknown facet {facet!r} of construct {construct.id!r}; "
            f"expected {expected}"
        )
    return facet


def _item_scale(scale_id: Any, context: _FormContext, where: str) -> ResponseScale:
    if scale_id not in context.scales:
        raise BankError(
            f"{context.source}: {where}: unknown response scale {scale_id!r}; "
            f"expected one of: {', '.join(context.scales)}"
        )
    return context.scales[scale_id]


def _check_keys(data: Any, keys: tuple[set[str], set[str]], source: str, where: str) -> None:
    required, optional = keys
    if not isinstance(data, Mapping):
        raise BankError(f"{source}: {where}: expected a mapping, got {type(data).__name__}")
    missing = sorted(required - set(data))
    if missing:
        raise BankError(f"{source}: {where}: missing {', '.join(map(repr, missing))}")
    unknown = sorted(str(key) for key in set(data) - required - optional)
    if unknown:
        raise BankError(
            f"{source}: {where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"expected keys: {', '.join(sorted(required | optional))}"
        )


def _id_of(data: Any, source: str, what: str) -> str:
    if not isinstance(data, Mapping):
        raise BankError(f"{source}: {what}: expected a mapping, got {type(data).__name__}")
    return _text(data, "id", source, what)


def _text(data: Mapping, key: str, source: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if value == default and default is not None:
        return default
    if not isinstance(value, str) or not value.strip():
        raise BankError(f"{source}: {where}: {key!r} must be non-empty text, got {value!r}")
    return " ".join(value.split())


def _flag(data: Mapping, key: str, source: str, where: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise BankError(f"{source}: {where}: {key!r} must be true or false, got {value!r}")
    return value


def _list(data: Mapping, key: str, source: str, where: str, default: list | None = None) -> list:
    value = data.get(key, default)
    if value is None and default is not None:
        return default
    if not isinstance(value, list):
        raise BankError(f"{source}: {where}: {key!r} must be a list, got {type(value).__name__}")
    return value


def _by_id(objects: Iterable[_T], source: str, what: str) -> dict[str, _T]:
    """Collect objects by their ``id``, refusing a second object with the same id."""
    collected: dict[str, _T] = {}
    for entry in objects:
        if entry.id in collected:
            raise BankError(f"{source}: {what} {entry.id!r} is defined twice")
        collected[entry.id] = entry
    return collected


# --- languages ------------------------------------------------------------------------------


def _terms(data: Any, source: str, where: str, expected: Iterable[str] | None) -> dict[str, str]:
    """``clinician_terms``: how a form may name the clinician, each key with its text."""
    if data is None and expected is None:
        return {DEFAULT_CLINICIAN_TERM: DEFAULT_CLINICIAN_TERM}
    if not isinstance(data, Mapping) or not data:
        raise BankError(f"{source}: {where}: 'clinician_terms' must map term keys to text")
    terms = {str(key): _text(data, key, source, f"{where}: clinician term") for key in data}
    if DEFAULT_CLINICIAN_TERM not in terms:
        raise BankError(f"{source}: {where}: 'clinician_terms' lacks {DEFAULT_CLINICIAN_TERM!r}")
    if expected is not None and set(terms) != set(expected):
        missing = sorted(set(expected) - set(terms))
        unknown = sorted(set(terms) - set(expected))
        raise BankError(
            f"{source}: {where}: clinician terms differ from the bank's: "
            f"missing {missing or 'none'}, unknown {unknown or 'none'}"
        )
    return terms


def _read_translation(file: Traversable, language: str) -> _Translation:
    source = str(file)
    data = _read_yaml(file)
    _check_keys(data, _TRANSLATION_KEYS, source, f"translation {language!r}")
    if data["language"] != language:
        raise BankError(
            f"{source}: the file's language is {data['language']!r}; expected {language!r}"
        )
    status = data["status"]
    if status not in TRANSLATION_STATUSES:
        raise BankError(
            f"{source}: status {status!r}: expected one of {', '.join(TRANSLATION_STATUSES)}"
        )
    if status == "reviewed" and not data.get("record"):
        raise BankError(
            f"{source}: status 'reviewed' needs a 'record' of the forward-backward translation "
            "and review (who, when)"
        )
    scales = data["scales"]
    if not isinstance(scales, Mapping):
        raise BankError(f"{source}: 'scales' must map scale ids to their option labels")
    forms = data["forms"]
    if not isinstance(forms, Mapping):
        raise BankError(f"{source}: 'forms' must map form ids to their texts")
    return _Translation(
        language=language,
        status=status,
        source=source,
        clinician_terms=MappingProxyType(
            _terms(data["clinician_terms"], source, f"translation {language!r}", None)
        ),
        scales=MappingProxyType(dict(scales)),
        forms=MappingProxyType(dict(forms)),
    )


def _check_translation_complete(bank: ItemBank, translation: _Translation) -> None:
    """Refuse a translation that lacks (or adds) any item, heading, stem or label, naming it."""
    source, language = translation.source, translation.language
    _terms(translation.clinician_terms, source, f"translation {language!r}", bank.clinician_terms)
    scales = {item.scale.id: item.scale for form in bank.forms.values() for item in form.items}
    for scale in scales.values():
        labels = translation.scales.get(scale.id)
        if not isinstance(labels, Mapping):
            raise BankError(f"{source}: language {language!r} lacks response scale {scale.id!r}")
        for option in scale.options:
            if not isinstance(labels.get(option.value), str) or not labels[option.value].strip():
                raise BankError(
                    f"{source}: language {language!r} lacks the label of value {option.value} "
                    f"of response scale {scale.id!r}"
                )
    for form in bank.forms.values():
        _check_translated_form(form, translation)
    unknown = sorted(set(translation.forms) - set(bank.forms))
    if unknown:
        raise BankError(f"{source}: unknown form(s) {', '.join(unknown)}")


def _check_translated_form(form: Form, translation: _Translation) -> None:
    source, language = translation.source, translation.language
    where = f"language {language!r}: form {form.id!r}"
    data = translation.forms.get(form.id)
    if data is None:
        raise BankError(f"{source}: {where}: missing; every form needs its translation")
    _check_keys(data, _TRANSLATED_FORM_KEYS, source, where)
    for key in ("title", "intro", "who_sees"):
        _text(data, key, source, where)
    if any(item.not_applicable for item in form.items):
        if "not_applicable_label" not in data:
            raise BankError(f"{source}: {where}: lacks 'not_applicable_label'")
        _text(data, "not_applicable_label", source, where)
    sections, items = data["sections"], data["items"]
    for section in form.sections:
        entry = sections.get(section.construct.id) if isinstance(sections, Mapping) else None
        if entry is None:
            raise BankError(f"{source}: {where}: lacks section {section.construct.id!r}")
        _check_keys(entry, _TRANSLATED_SECTION_KEYS, source, f"{where}: section")
        _text(entry, "heading", source, f"{where}: section {section.construct.id!r}")
        if section.stem:
            _text(entry, "stem", source, f"{where}: section {section.construct.id!r}")
    if not isinstance(items, Mapping):
        raise BankError(f"{source}: {where}: 'items' must map item ids to their text")
    for item in form.items:
        text = items.get(item.id)
        if not isinstance(text, str) or not text.strip():
            raise BankError(f"{source}: {where}: lacks item {item.id!r}")
        if (CLINICIAN_PLACEHOLDER in item.text) != (CLINICIAN_PLACEHOLDER in text):
            raise BankError(
                f"{source}: {where}: item {item.id!r}: {CLINICIAN_PLACEHOLDER} must appear in "
                "the translation exactly where the source uses it"
            )
    unknown = sorted(set(items) - {item.id for item in form.items})
    if unknown:
        raise BankError(f"{source}: {where}: unknown item(s) {', '.join(unknown)}")


def _localize(source: _SourceBank, language: str | None, clinician_term: str | None) -> ItemBank:
    """The bank in ``language`` with ``{clinician}`` replaced by the chosen term."""
    bank = source.bank
    language = language or bank.language
    term = clinician_term or DEFAULT_CLINICIAN_TERM
    if language not in bank.languages:
        raise BankError(
            f"the item bank has no language {language!r}; it has: {', '.join(bank.languages)}"
        )
    if term not in bank.clinician_terms:
        raise BankError(
            f"unknown clinician term {term!r}; expected one of: {', '.join(bank.clinician_terms)}"
        )
    translation = source.translations.get(language)
    terms = translation.clinician_terms if translation else bank.clinician_terms
    words = terms[term]

    def fill(text: str) -> str:
        return text.replace(CLINICIAN_PLACEHOLDER, words)

    scales: dict[str, ResponseScale] = {}

    def scale_of(scale: ResponseScale) -> ResponseScale:
        if scale.id not in scales:
            labels = translation.scales[scale.id] if translation else {}
            scales[scale.id] = replace(
                scale,
                options=tuple(
                    replace(option, label=" ".join(labels.get(option.value, option.label).split()))
                    for option in scale.options
                ),
            )
        return scales[scale.id]

    forms = {
        form_id: _localize_form(form, translation, fill, scale_of)
        for form_id, form in bank.forms.items()
    }
    return replace(
        bank,
        language=language,
        forms=MappingProxyType(forms),
        clinician_terms=MappingProxyType(dict(terms)),
    )


def _localize_form(form: Form, translation: _Translation | None, fill, scale_of) -> Form:
    data = translation.forms[form.id] if translation else None

    def text(key: str, original: str) -> str:
        value = data[key] if data is not None and key in data else original
        return fill(" ".join(value.split()))

    na_label = None
    if data is not None:
        na_label = " ".join(data.get("not_applicable_label", "").split()) or None

    def item_of(item: Item) -> Item:
        wording = data["items"][item.id] if data is not None else item.text
        return replace(
            item,
            text=fill(" ".join(wording.split())),
            scale=scale_of(item.scale),
            not_applicable_label=(na_label or item.not_applicable_label)
            if item.not_applicable
            else None,
        )

    sections = []
    for section in form.sections:
        entry = data["sections"][section.construct.id] if data is not None else {}
        sections.append(
            replace(
                section,
                heading=fill(" ".join(entry.get("heading", section.heading).split())),
                stem=fill(" ".join(entry.get("stem", section.stem).split())),
                items=tuple(item_of(item) for item in section.items),
            )
        )
    return replace(
        form,
        title=text("title", form.title),
        intro=text("intro", form.intro),
        who_sees=text("who_sees", form.who_sees),
        sections=tuple(sections),
        retired=tuple(replace(item, text=fill(item.text)) for item in form.retired),
    )
