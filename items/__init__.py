"""The healing-survey item bank: constructs, items and forms as data, with a small pure loader.

Depends only on the standard library and PyYAML, so the survey app and the analysis code can
both build on it.
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
