"""The healing-survey item bank: constructs, items and forms as data, with a small pure loader.

Depends only on the standard library and PyYAML, so the survey app and the analysis code can
both build on it.

Examples
--------
>>> from items import load_bank
>>> bank = load_bank()
>>> sorted(bank.forms) == sorted(FORM_IDS)
True
>>> patient = bank.form("patient")
>>> [section.construct.id for section in patient.sections][:3]
['valuing', 'appreciating_power', 'abiding']
>>> patient.scale_spec().range
(1, 5)
"""

from items.loader import load_bank
from items.model import (
    FORM_IDS,
    NOT_APPLICABLE,
    SKIPPED,
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
from items.spec import ScaleItem, ScaleSpec, ScaleSpecError, load_scale_spec

__all__ = [
    "FORM_IDS",
    "NOT_APPLICABLE",
    "SKIPPED",
    "BankError",
    "Construct",
    "Facet",
    "Form",
    "Item",
    "ItemBank",
    "ResponseOption",
    "ResponseScale",
    "ScaleItem",
    "ScaleSpec",
    "ScaleSpecError",
    "Section",
    "load_bank",
    "load_scale_spec",
]
