"""The item bank's objects: response scales, constructs and their facets, items, forms.

All are frozen; the loader (:mod:`items.loader`) builds them from YAML and checks them, so code
that holds an :class:`ItemBank` may rely on every reference in it being resolved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from items.spec import ScaleItem, ScaleSpec

NOT_APPLICABLE = "not_applicable"
SKIPPED = "skipped"
FORM_IDS = ("patient", "clinician-dyad", "clinician-self")
PARTS = ("process", "outcome", "competency")
AUDIENCES = ("patient", "clinician")


class BankError(ValueError):
    """An item bank that cannot be used, or a look-up of something it does not hold.

    The message names the file and the item, construct or form at fault.
    """


@dataclass(frozen=True)
class ResponseOption:
    """One answer choice: the stored value and the label the respondent reads."""

    value: int
    label: str


@dataclass(frozen=True)
class ResponseScale:
    """A fully labelled ordinal response scale, options in ascending order of value.

    Examples
    --------
    >>> from items import load_bank
    >>> scale = load_bank().form("patient").items[0].scale
    >>> scale.id, scale.min, scale.max, scale.label(4)
    ('agree5', 1, 5, 'Agree')
    """

    id: str
    options: tuple[ResponseOption, ...]

    @property
    def min(self) -> int:
        """The lowest value."""
        return self.options[0].value

    @property
    def max(self) -> int:
        """The highest value."""
        return self.options[-1].value

    def label(self, value: int) -> str:
        """The label of ``value``; ``ValueError`` naming the value if it is not on the scale."""
        for option in self.options:
            if option.value == value:
                return option.label
        values = ", ".join(str(option.value) for option in self.options)
        raise ValueError(f"{value!r} is not a value of scale {self.id!r}; expected one of {values}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "options": [{"value": option.value, "label": option.label} for option in self.options],
        }


@dataclass(frozen=True)
class Facet:
    """A part of a construct that items must cover (Scott et al. 2008, Table 3)."""

    id: str
    name: str
    meaning: str


@dataclass(frozen=True)
class Construct:
    """A construct of the healing relationship model.

    ``part`` is ``"process"``, ``"outcome"`` or ``"competency"``; ``facets`` is empty where the
    model names no facets.

    Examples
    --------
    >>> from items import load_bank
    >>> abiding = load_bank().constructs["abiding"]
    >>> abiding.part, [facet.id for facet in abiding.facets]
    ('process', ['continuity', 'crisis', 'caring_acts', 'not_giving_up'])
    """

    id: str
    name: str
    definition: str
    part: str
    facets: tuple[Facet, ...]

    def facet(self, facet_id: str) -> Facet:
        """The facet with this id; ``BankError`` naming the known facets if there is none."""
        for facet in self.facets:
            if facet.id == facet_id:
                return facet
        known = ", ".join(facet.id for facet in self.facets) or "none"
        raise BankError(f"construct {self.id!r} has no facet {facet_id!r}; its facets are: {known}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "definition": self.definition,
            "part": self.part,
            "facets": [
                {"id": facet.id, "name": facet.name, "meaning": facet.meaning}
                for facet in self.facets
            ],
        }


@dataclass(frozen=True)
class Item:
    """One question of one form.

    ``not_applicable_label`` is the label of the "does not apply" choice where the item offers
    it (``not_applicable`` is true), else None. Such an answer is stored as
    :data:`NOT_APPLICABLE`, never as a number.

    Examples
    --------
    >>> from items import load_bank
    >>> item = load_bank().item("pt_abi_3")
    >>> item.construct, item.facet, item.not_applicable, item.not_applicable_label
    ('abiding', 'crisis', True, 'Does not apply to me')
    """

    id: str
    form: str
    construct: str
    facet: str | None
    text: str
    scale: ResponseScale
    reverse_keyed: bool
    not_applicable: bool
    not_applicable_label: str | None = None
    # A retired item is no longer asked; its answers stay under the bank version they were
    # given in, and the codebook shows its wording.
    retired_in: str | None = None
    replaced_by: str | None = None
    retired_because: str | None = None

    def to_dict(self) -> dict[str, Any]:
        record = {
            "id": self.id,
            "form": self.form,
            "construct": self.construct,
            "facet": self.facet,
            "text": self.text,
            "scale": self.scale.id,
            "reverse_keyed": self.reverse_keyed,
            "not_applicable": self.not_applicable,
            "not_applicable_label": self.not_applicable_label,
        }
        if self.retired_in is not None:
            record.update(
                retired_in=self.retired_in,
                replaced_by=self.replaced_by,
                retired_because=self.retired_because,
            )
        return record


@dataclass(frozen=True)
class Section:
    """One page of the respondent flow: the items of one construct within one form."""

    construct: Construct
    heading: str
    stem: str
    items: tuple[Item, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "construct": self.construct.id,
            "heading": self.heading,
            "stem": self.stem,
            "items": [item.to_dict() for item in self.items],
        }


@dataclass(frozen=True)
class Form:
    """A questionnaire as one kind of respondent sees it: a welcome page, then its sections.

    Examples
    --------
    >>> from items import load_bank
    >>> form = load_bank().form("patient")
    >>> form.audience, [section.construct.id for section in form.sections][:3]
    ('patient', ['valuing', 'appreciating_power', 'abiding'])
    >>> form.item("pt_val_1").text
    'My clinician treats me as a person who matters.'
    """

    id: str
    title: str
    intro: str
    audience: str
    who_sees: str
    sections: tuple[Section, ...]
    retired: tuple[Item, ...] = ()

    @property
    def items(self) -> tuple[Item, ...]:
        """All items, section by section, in the order they are asked."""
        return tuple(item for section in self.sections for item in section.items)

    @cached_property
    def _items_by_id(self) -> Mapping[str, Item]:
        return MappingProxyType({item.id: item for item in self.items})

    def item(self, item_id: str) -> Item:
        """The item with this id; ``BankError`` if the form has none."""
        try:
            return self._items_by_id[item_id]
        except KeyError:
            raise BankError(f"form {self.id!r} has no item {item_id!r}") from None

    def scale_spec(self) -> ScaleSpec:
        """The form's scales for analysis: one per section, named by construct id.

        Examples
        --------
        >>> from items import load_bank
        >>> spec = load_bank().form("clinician-self").scale_spec()
        >>> spec.range, list(spec.scales)
        ((1, 5), ['self_confidence', 'emotional_self_management', 'mindfulness', 'knowledge'])
        """
        ranges = {(item.scale.min, item.scale.max) for item in self.items}
        if len(ranges) != 1:
            raise BankError(
                f"form {self.id!r} mixes response ranges {sorted(ranges)}; "
                "a scale specification needs one range"
            )
        scales = {
            section.construct.id: tuple(
                ScaleItem(id=item.id, reverse_keyed=item.reverse_keyed) for item in section.items
            )
            for section in self.sections
        }
        return ScaleSpec(range=ranges.pop(), scales=MappingProxyType(scales))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "intro": self.intro,
            "audience": self.audience,
            "who_sees": self.who_sees,
            "sections": [section.to_dict() for section in self.sections],
            "retired": [item.to_dict() for item in self.retired],
        }


@dataclass(frozen=True)
class ItemBank:
    """The whole bank: its version, the model's constructs, and the forms built on them.

    Examples
    --------
    >>> from items import load_bank
    >>> bank = load_bank()
    >>> bank.language, list(bank.forms)
    ('en', ['patient', 'clinician-dyad', 'clinician-self'])
    >>> bank.item("cd_val_1").form
    'clinician-dyad'
    """

    version: str
    language: str
    constructs: Mapping[str, Construct]
    forms: Mapping[str, Form]
    # Every language the bank can be read in, each with its translation status ("source" for
    # the language the items were written in, "draft" until a forward-backward translation and
    # review are recorded, then "reviewed"). Staff see the status; patients never do.
    languages: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({"en": "source"}))
    # The terms a clinic may choose for the clinician, each worded in ``language``.
    clinician_terms: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({"clinician": "clinician"})
    )

    def form(self, form_id: str) -> Form:
        """The form with this id; ``BankError`` naming the known ids if there is none."""
        try:
            return self.forms[form_id]
        except KeyError:
            known = ", ".join(self.forms)
            raise BankError(f"unknown form {form_id!r}; known forms: {known}") from None

    @cached_property
    def _items_by_id(self) -> Mapping[str, Item]:
        return MappingProxyType(
            {item.id: item for form in self.forms.values() for item in form.items}
        )

    def item(self, item_id: str) -> Item:
        """The item with this id, from whichever form holds it; ``BankError`` if none does."""
        try:
            return self._items_by_id[item_id]
        except KeyError:
            raise BankError(
                f"the item bank (version {self.version}) has no item {item_id!r}"
            ) from None

    def any_item(self, item_id: str) -> Item:
        """Like :meth:`item`, but a retired item too (for answers given under older versions).

        Examples
        --------
        >>> from items import load_bank
        >>> old = load_bank().any_item("pt_val_6")
        >>> old.retired_in, old.replaced_by
        ('2026.12.1', 'pt_val_7')
        """
        for form in self.forms.values():
            for item in form.retired:
                if item.id == item_id:
                    return item
        return self.item(item_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "language": self.language,
            "languages": dict(self.languages),
            "constructs": [construct.to_dict() for construct in self.constructs.values()],
            "forms": [form.to_dict() for form in self.forms.values()],
        }
