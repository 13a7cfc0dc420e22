"""Build FHIR R4 Questionnaire and QuestionnaireResponse resources from the item bank, and read
an incoming QuestionnaireResponse back into answers.

``fhir.resources`` checks structure only, so the checks here reject what it lets through:
duplicate ``linkId``s, item types FHIR R4 does not have, and answers outside the answer options.
Answer options carry their numeric value in the ``itemWeight`` extension (its current name; R4's
SDC called it ``ordinalValue``).

Languages: a Questionnaire is written in one language (``language``) and carries every other
language of the item bank in FHIR's standard translation extension on each text's primitive
element (``_title``, ``_text``, ``_display``, ...), so one resource serves every language. A
QuestionnaireResponse says the language it was answered in, with the item texts in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from items import NOT_APPLICABLE, Form, Item, load_bank

CANONICAL_PREFIX = "urn:healing-survey:questionnaire:"
SCALE_SYSTEM_PREFIX = "urn:healing-survey:scale:"
CODE_SYSTEM = "urn:healing-survey:answer-code"
RESPONSE_SYSTEM = "urn:healing-survey:response"
ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
EXTENSION_PREFIX = "urn:healing-survey:extension:"
# FHIR R4 Questionnaire.item.type (http://hl7.org/fhir/R4/valueset-item-type.html).
R4_ITEM_TYPES = frozenset(
    {
        "group",
        "display",
        "boolean",
        "decimal",
        "integer",
        "date",
        "dateTime",
        "time",
        "string",
        "text",
        "url",
        "choice",
        "open-choice",
        "attachment",
        "reference",
        "quantity",
    }
)


class FhirError(ValueError):
    """A resource we refuse; ``status`` is the HTTP status, ``code`` the FHIR issue type."""

    def __init__(self, message: str, *, status: int = 422, code: str = "invalid"):
        super().__init__(message)
        self.status = status
        self.code = code


def canonical_url(form_id: str) -> str:
    return CANONICAL_PREFIX + form_id


class _Texts:
    """A form's texts in the resource's language, each with its wording in the other languages
    as FHIR translation extensions."""

    def __init__(self, forms: dict[str, Form]):
        self._others = {language: _text_table(form) for language, form in list(forms.items())[1:]}

    def element(self, name: str, value: str, key: tuple) -> dict:
        """``{name: value, "_" + name: {translation extensions}}``."""
        translations = [
            {
                "url": TRANSLATION,
                "extension": [
                    {"url": "lang", "valueCode": language},
                    {"url": "content", "valueString": table[key]},
                ],
            }
            for language, table in self._others.items()
            if key in table
        ]
        if not translations:
            return {name: value}
        return {name: value, f"_{name}": {"extension": translations}}


def _not_applicable(item: Item) -> str:
    return item.not_applicable_label or "Does not apply"


def _text_table(form: Form) -> dict[tuple, str]:
    """Every text of the form by a key that is the same in every language."""
    table: dict[tuple, str] = {
        ("title",): form.title,
        ("description",): " ".join(form.intro.split()),
    }
    for section in form.sections:
        table[(section.construct.id,)] = section.heading
        table[(f"{section.construct.id}.stem",)] = section.stem
        for item in section.items:
            table[(item.id,)] = item.text
            for option in item.scale.options:
                table[(item.id, str(option.value))] = option.label
            if item.not_applicable:
                table[(item.id, NOT_APPLICABLE)] = _not_applicable(item)
    return table


def _answer_options(item: Item, texts: _Texts) -> list[dict]:
    options = [
        {
            "valueCoding": {
                "system": SCALE_SYSTEM_PREFIX + item.scale.id,
                "code": str(option.value),
                **texts.element("display", option.label, (item.id, str(option.value))),
            },
            "extension": [{"url": ITEM_WEIGHT, "valueDecimal": option.value}],
        }
        for option in item.scale.options
    ]
    if item.not_applicable:
        options.append(
            {
                "valueCoding": {
                    "system": CODE_SYSTEM,
                    "code": NOT_APPLICABLE,
                    **texts.element("display", _not_applicable(item), (item.id, NOT_APPLICABLE)),
                }
            }
        )
    return options


def questionnaire(
    form_id: str, *, language: str | None = None, clinician_term: str | None = None
) -> dict:
    """The form as a FHIR R4 Questionnaire: one group per construct, one choice item per item,
    written in ``language`` (the bank's own by default) with every other language of the bank
    in translation extensions, naming the clinician by ``clinician_term``.

    Examples
    --------
    >>> resource = questionnaire("patient")
    >>> resource["resourceType"], resource["item"][0]["linkId"], resource["item"][0]["type"]
    ('Questionnaire', 'valuing', 'group')
    >>> resource["language"], resource["_title"]["extension"][0]["extension"][0]
    ('en', {'url': 'lang', 'valueCode': 'es'})
    """
    bank = load_bank(language=language, clinician_term=clinician_term)
    form = bank.form(form_id)
    others = [other for other in bank.languages if other != bank.language]
    texts = _Texts(
        {bank.language: form}
        | {
            other: load_bank(language=other, clinician_term=clinician_term).form(form_id)
            for other in others
        }
    )
    groups = []
    for section in form.sections:
        construct = section.construct
        stem = f"{construct.id}.stem"
        children: list[dict] = [
            {"linkId": stem, "type": "display", **texts.element("text", section.stem, (stem,))}
        ]
        children += [
            {
                "linkId": item.id,
                "type": "choice",
                **texts.element("text", item.text, (item.id,)),
                "required": False,
                "answerOption": _answer_options(item, texts),
            }
            for item in section.items
        ]
        groups.append(
            {
                "linkId": construct.id,
                "type": "group",
                **texts.element("text", section.heading, (construct.id,)),
                "item": children,
            }
        )
    return {
        "resourceType": "Questionnaire",
        "id": f"healing-survey-{form.id}",
        "language": bank.language,
        "url": canonical_url(form.id),
        "version": bank.version,
        "name": "HealingSurvey" + "".join(part.title() for part in form.id.split("-")),
        **texts.element("title", form.title, ("title",)),
        "status": "active",
        "subjectType": ["Patient"] if form.audience == "patient" else ["Practitioner"],
        **texts.element("description", " ".join(form.intro.split()), ("description",)),
        "item": groups,
    }


def _walk(items: Iterable[dict], path: str) -> Iterator[tuple[dict, str]]:
    for index, item in enumerate(items):
        where = f"{path}.item[{index}]"
        yield item, where
        yield from _walk(item.get("item") or (), where)
        for answer_index, answer in enumerate(item.get("answer") or ()):
            yield from _walk(answer.get("item") or (), f"{where}.answer[{answer_index}]")


def check_questionnaire(resource: dict) -> None:
    """Raise ``FhirError`` for duplicate linkIds, unknown item types, choices without options."""
    seen: dict[str, str] = {}
    for item, where in _walk(resource.get("item") or (), resource.get("resourceType", "")):
        link_id = item.get("linkId")
        if link_id in seen:
            raise FhirError(f"duplicate linkId {link_id!r} at {where} (first at {seen[link_id]})")
        seen[link_id] = where
        kind = item.get("type")
        if kind not in R4_ITEM_TYPES:
            raise FhirError(f"item {link_id!r} has type {kind!r}, which FHIR R4 does not have")
        if kind == "choice" and not item.get("answerOption"):
            raise FhirError(f"choice item {link_id!r} has no answerOption")


def _coding(item: Item, answer: int | str) -> dict:
    if answer == NOT_APPLICABLE:
        label = item.not_applicable_label or "Does not apply"
        return {"system": CODE_SYSTEM, "code": NOT_APPLICABLE, "display": label}
    return {
        "system": SCALE_SYSTEM_PREFIX + item.scale.id,
        "code": str(answer),
        "display": item.scale.label(answer),
    }


@dataclass(frozen=True)
class ResponseContext:
    """What a QuestionnaireResponse says about where a response came from (ids or pseudonyms)."""

    id: str
    clinician: str
    dyad: str | None
    wave: int | None
    authored: str
    language: str | None = None


def questionnaire_response(
    form: Form, answers: dict[str, int | str], *, context: ResponseContext, version: str
) -> dict:
    """One response as a QuestionnaireResponse; skipped items are left out, as FHIR expects.

    ``form`` should be in the language the response was answered in (``context.language``),
    which the resource names."""
    groups = []
    for section in form.sections:
        children = [
            {"linkId": item.id, "text": item.text, "answer": [{"valueCoding": _coding(item, a)}]}
            for item in section.items
            if (a := answers.get(item.id)) is not None and (a == NOT_APPLICABLE or type(a) is int)
        ]
        if children:
            groups.append({"linkId": section.construct.id, "item": children})
    extensions = [{"url": EXTENSION_PREFIX + "clinician", "valueString": context.clinician}]
    if context.dyad is not None:
        extensions.append({"url": EXTENSION_PREFIX + "dyad", "valueString": context.dyad})
    if context.wave is not None:
        extensions.append({"url": EXTENSION_PREFIX + "wave", "valueInteger": context.wave})
    resource = {
        "resourceType": "QuestionnaireResponse",
        "id": context.id,
        **({"language": context.language} if context.language else {}),
        "extension": extensions,
        "identifier": {"system": RESPONSE_SYSTEM, "value": context.id},
        "questionnaire": f"{canonical_url(form.id)}|{version}",
        "status": "completed",
        "authored": context.authored,
    }
    if groups:
        resource["item"] = groups
    return resource


def fhir_datetime(moment: datetime | None, *, month_only: bool) -> str:
    if moment is None:
        return ""
    return moment.strftime("%Y-%m") if month_only else moment.isoformat(timespec="seconds")


# Reading an incoming QuestionnaireResponse.


def _form_of_canonical(reference: str | None, bank_version: str) -> str:
    if not reference:
        raise FhirError("the QuestionnaireResponse names no questionnaire", code="required")
    url, _, version = reference.partition("|")
    if not url.startswith(CANONICAL_PREFIX):
        raise FhirError(
            f"questionnaire {reference!r} is not one of ours; expected {CANONICAL_PREFIX}<form>"
        )
    if version and version != bank_version:
        raise FhirError(
            f"questionnaire version {version!r} does not match the item bank {bank_version!r}"
        )
    return url.removeprefix(CANONICAL_PREFIX)


def check_integer_answers(resource: dict) -> None:
    """Refuse a ``valueInteger`` that is a boolean or a non-integral number, naming the item.

    Runs on the raw JSON, before FHIR's structure check: that one coerces ``true`` and ``3.0``
    to integers and reports ``2.5`` by position only.

    Examples
    --------
    >>> check_integer_answers({"item": [{"linkId": "a", "answer": [{"valueInteger": 3}]}]})
    >>> check_integer_answers({"item": [{"linkId": "a", "answer": [{"valueInteger": True}]}]})
    ... # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    FhirError: valueInteger true to 'a' is not an integer
    """
    pending = [resource]
    while pending:
        node = pending.pop()
        items = node.get("item") if isinstance(node, dict) else None
        for item in items if isinstance(items, list) else ():
            if not isinstance(item, dict):
                continue
            pending.append(item)
            answers = item.get("answer")
            for answer in answers if isinstance(answers, list) else ():
                if not isinstance(answer, dict):
                    continue
                pending.append(answer)
                value = answer.get("valueInteger")
                if isinstance(value, bool | float):
                    raise FhirError(
                        f"valueInteger {json.dumps(value)} to {item.get('linkId')!r} is not "
                        "an integer; answer with one of the item's options, e.g. 3",
                        code="value",
                    )


def _answer_value(item: Item, answer: dict, link_id: str) -> int | str:
    coding = answer.get("valueCoding")
    if coding is not None:
        code = coding.get("code")
        system = coding.get("system")
        if code == NOT_APPLICABLE and item.not_applicable and system in (None, CODE_SYSTEM):
            return NOT_APPLICABLE
        allowed_system = SCALE_SYSTEM_PREFIX + item.scale.id
        if system in (None, allowed_system) and code in {str(o.value) for o in item.scale.options}:
            return int(code)
        raise FhirError(
            f"answer {system}|{code} to {link_id!r} is not one of its answer options",
            code="code-invalid",
        )
    if "valueInteger" in answer:
        value = answer["valueInteger"]
        # JSON true and 3.0 compare equal to 1 and 3 in Python, but neither is an integer answer.
        if isinstance(value, bool) or not isinstance(value, int):
            raise FhirError(
                f"valueInteger {json.dumps(value)} to {link_id!r} is not an integer; "
                f"expected one of the answer options "
                f"{', '.join(str(o.value) for o in item.scale.options)}",
                code="value",
            )
        if value in {option.value for option in item.scale.options}:
            return value
        raise FhirError(f"valueInteger {value!r} to {link_id!r} is outside the answer options")
    kinds = ", ".join(sorted(answer)) or "nothing"
    raise FhirError(f"answer to {link_id!r} must be a valueCoding or valueInteger, got {kinds}")


def read_answers(resource: dict, *, form_id: str) -> dict[str, int | str]:
    """The answers in a QuestionnaireResponse for ``form_id``, checked against the form.

    Raises ``FhirError`` when the resource is for another form or bank version, is not
    completed, repeats a linkId, names an item the form does not have, or gives an answer
    outside the item's answer options. Items without an answer are absent from the result.
    """
    bank = load_bank()
    form = bank.form(form_id)
    target = _form_of_canonical(resource.get("questionnaire"), bank.version)
    if target != form_id:
        raise FhirError(
            f"this invitation is for the {form_id!r} form, not {target!r}", code="business-rule"
        )
    if resource.get("status") != "completed":
        raise FhirError(f"status {resource.get('status')!r}: only 'completed' responses are taken")
    groups = {section.construct.id for section in form.sections}
    seen: set[str] = set()
    answers: dict[str, int | str] = {}
    for item, _where in _walk(resource.get("item") or (), "QuestionnaireResponse"):
        link_id = item.get("linkId")
        if link_id in seen:
            raise FhirError(f"duplicate linkId {link_id!r}", code="structure")
        seen.add(link_id)
        given = item.get("answer") or []
        if link_id in groups or link_id.endswith(".stem"):
            if given:
                raise FhirError(f"{link_id!r} is a group or display item and takes no answer")
            continue
        try:
            bank_item = form.item(link_id)
        except ValueError:
            raise FhirError(f"the {form_id!r} form has no item {link_id!r}") from None
        if len(given) > 1:
            raise FhirError(f"item {link_id!r} has {len(given)} answers; it takes one")
        if given:
            answers[link_id] = _answer_value(bank_item, given[0], link_id)
    return answers


def operation_outcome(message: str, *, code: str = "invalid", severity: str = "error") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }
