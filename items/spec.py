"""Scale specifications: which items make up each scale, and which of them are reverse-keyed.

The same structure comes from a user's YAML file (``healing-survey analyze --scales``) and from
our own item bank (:meth:`items.Form.scale_spec`), so one analysis code path serves both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import yaml

REVERSE_MARK = "-"


class ScaleSpecError(ValueError):
    """A scale specification that cannot be used; the message names the source and the fault."""


@dataclass(frozen=True)
class ScaleItem:
    """One item of a scale, by its column name, and whether it is scored in reverse."""

    id: str
    reverse_keyed: bool = False

    def to_name(self) -> str:
        """The item as written in a scale specification: a leading ``-`` marks reverse keying.

        Examples
        --------
        >>> ScaleItem("tru_2", reverse_keyed=True).to_name()
        '-tru_2'
        """
        return f"{REVERSE_MARK}{self.id}" if self.reverse_keyed else self.id


@dataclass(frozen=True)
class ScaleSpec:
    """Scales and their items, with the response range used to reverse-score items.

    Parameters
    ----------
    range : tuple of int
        The lowest and highest response value; a reverse-keyed answer ``x`` scores as
        ``min + max - x``.
    scales : Mapping of str to tuple of ScaleItem
        Each scale's items, in the order given.

    Examples
    --------
    >>> spec = ScaleSpec.from_mapping({"range": [1, 5], "scales": {"trust": ["t1", "-t2"]}})
    >>> spec.item_ids
    ('t1', 't2')
    >>> sorted(spec.reverse_keyed_ids())
    ['t2']
    """

    range: tuple[int, int]
    scales: Mapping[str, tuple[ScaleItem, ...]]

    @property
    def item_ids(self) -> tuple[str, ...]:
        """Every item of every scale, in order of first appearance."""
        return tuple(dict.fromkeys(item.id for items in self.scales.values() for item in items))

    def reverse_keyed_ids(self) -> frozenset[str]:
        """The ids of the items scored in reverse."""
        return frozenset(
            item.id for items in self.scales.values() for item in items if item.reverse_keyed
        )

    def to_dict(self) -> dict[str, Any]:
        """The specification as plain data, ready for ``yaml.safe_dump`` or JSON.

        Examples
        --------
        >>> ScaleSpec.from_mapping({"range": [1, 5], "scales": {"hope": ["h1", "-h2"]}}).to_dict()
        {'range': [1, 5], 'scales': {'hope': ['h1', '-h2']}}
        """
        return {
            "range": list(self.range),
            "scales": {
                name: [item.to_name() for item in items] for name, items in self.scales.items()
            },
        }

    @classmethod
    def from_mapping(cls, data: Any, *, source: str = "<mapping>") -> ScaleSpec:
        """Build and validate a specification from parsed YAML (or any mapping).

        Parameters
        ----------
        data : Mapping
            ``{"range": [min, max], "scales": {name: [item, "-item", ...]}}``.
        source : str, optional
            Where the data came from, named in error messages.

        Returns
        -------
        ScaleSpec

        Raises
        ------
        ScaleSpecError
            If ``range`` is not two integers with min < max, ``scales`` is not a non-empty
            mapping of non-empty lists of item names, or an item is named twice.

        Examples
        --------
        >>> ScaleSpec.from_mapping({"range": [0, 3], "scales": {"a": [" x ", "- y"]}}).scales["a"]
        (ScaleItem(id='x', reverse_keyed=False), ScaleItem(id='y', reverse_keyed=True))
        """
        if not isinstance(data, Mapping):
            raise ScaleSpecError(
                f"{source}: expected a mapping with 'range' and 'scales', got {_kind(data)}"
            )
        unknown = sorted(str(key) for key in data if key not in ("range", "scales"))
        if unknown:
            raise ScaleSpecError(
                f"{source}: unknown key(s) {', '.join(map(repr, unknown))}; "
                "expected only 'range' and 'scales'"
            )
        response_range = _parse_range(data.get("range"), source)
        raw_scales = data.get("scales")
        if not isinstance(raw_scales, Mapping) or not raw_scales:
            raise ScaleSpecError(
                f"{source}: 'scales' must be a non-empty mapping of scale names to item lists, "
                f"got {_kind(raw_scales)}"
            )
        scales: dict[str, tuple[ScaleItem, ...]] = {}
        first_scale_of: dict[str, str] = {}
        for name, names in raw_scales.items():
            scale = _parse_scale(name, names, source)
            for item in scale:
                if item.id in first_scale_of:
                    raise ScaleSpecError(
                        f"{source}: item {item.id!r} is named twice (in scale "
                        f"{first_scale_of[item.id]!r} and in scale {name!r}); "
                        "each item may belong to one scale only"
                    )
                first_scale_of[item.id] = name
            scales[name] = scale
        return cls(range=response_range, scales=MappingProxyType(scales))

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> ScaleSpec:
        """Read a YAML scale specification file, then validate it as :meth:`from_mapping` does.

        Raises
        ------
        ScaleSpecError
            If the file cannot be read, is not valid YAML, or fails validation.
        """
        source = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as stream:
                data = yaml.safe_load(stream)
        except OSError as error:
            raise ScaleSpecError(
                f"{source}: cannot read the scale specification: {error}"
            ) from error
        except yaml.YAMLError as error:
            raise ScaleSpecError(f"{source}: not valid YAML: {error}") from error
        return cls.from_mapping(data, source=source)


def load_scale_spec(path: str | os.PathLike[str]) -> ScaleSpec:
    """Read a YAML scale specification file; the same as :meth:`ScaleSpec.from_yaml`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name, "scales.yaml")
    >>> _ = path.write_text("range: [1, 5]\\nscales:\\n  trust: [t1, -t2]\\n")
    >>> load_scale_spec(path).to_dict()
    {'range': [1, 5], 'scales': {'trust': ['t1', '-t2']}}
    >>> folder.cleanup()
    """
    return ScaleSpec.from_yaml(path)


def _parse_range(value: Any, source: str) -> tuple[int, int]:
    is_pair = isinstance(value, list | tuple) and len(value) == 2
    if not is_pair or not all(_is_integer(bound) for bound in value):
        raise ScaleSpecError(f"{source}: 'range' must be two integers [min, max], got {value!r}")
    low, high = value
    if low >= high:
        raise ScaleSpecError(f"{source}: 'range' must have min < max, got {value!r}")
    return int(low), int(high)


def _parse_scale(name: Any, names: Any, source: str) -> tuple[ScaleItem, ...]:
    if not isinstance(name, str) or not name.strip():
        raise ScaleSpecError(f"{source}: scale names must be non-empty strings, got {name!r}")
    if not isinstance(names, list | tuple) or not names:
        raise ScaleSpecError(
            f"{source}: scale {name!r} must be a non-empty list of item names, got {_kind(names)}"
        )
    return tuple(_parse_item(entry, name, source) for entry in names)


def _parse_item(entry: Any, scale: str, source: str) -> ScaleItem:
    if not isinstance(entry, str):
        raise ScaleSpecError(
            f"{source}: scale {scale!r}: item names must be strings, got {entry!r}"
        )
    text = entry.strip()
    reverse_keyed = text.startswith(REVERSE_MARK)
    item_id = text.removeprefix(REVERSE_MARK).strip()
    if not item_id:
        raise ScaleSpecError(f"{source}: scale {scale!r}: empty item name {entry!r}")
    return ScaleItem(id=item_id, reverse_keyed=reverse_keyed)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"
