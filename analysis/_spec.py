"""Read a scale specification given as ``items.ScaleSpec`` or as a plain mapping."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analysis._input import item_frame, response_range_of

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Scales:
    """Scales as plain data: item ids per scale, the reverse-keyed ids and the response range."""

    items: dict[str, tuple[str, ...]]
    reverse_keyed: frozenset[str]
    response_range: tuple[float, float] | None


def read_scales(
    spec: Any,
    *,
    reverse_keyed: Iterable[str] | None = None,
    response_range: tuple[int, int] | None = None,
) -> Scales:
    """Normalise ``spec`` into :class:`Scales`.

    ``spec`` is either an object with ``.scales`` (items with ``.id`` and ``.reverse_keyed``)
    and ``.range`` -- the item bank's ``ScaleSpec`` -- or a mapping ``{scale: [item ids]}``
    in which a leading ``-`` marks a reverse-keyed item, as in the YAML scale files.
    ``reverse_keyed`` and ``response_range`` add to / override what the spec says.
    """
    scales = getattr(spec, "scales", spec)
    if not isinstance(scales, Mapping) or not scales:
        raise ValueError(f"scales must be a non-empty mapping of scale -> item ids, got {spec!r}")
    reversed_ids = set(reverse_keyed or ())
    items: dict[str, tuple[str, ...]] = {}
    for name, members in scales.items():
        ids = []
        for member in members:
            item_id, is_reversed = _item_of(member, scale=name)
            ids.append(item_id)
            if is_reversed:
                reversed_ids.add(item_id)
        if not ids:
            raise ValueError(f"scale {name!r} has no items")
        items[str(name)] = tuple(ids)
    spec_range = getattr(spec, "range", None)
    return Scales(
        items=items,
        reverse_keyed=frozenset(reversed_ids),
        response_range=response_range_of(response_range if response_range else spec_range),
    )


def keyed_responses(data: pd.DataFrame, scales: Scales) -> pd.DataFrame:
    """The scales' items of ``data`` as floats, reverse-keyed items reversed (min + max - x).

    Only the scales' columns are read, so other columns (ids, dates) may hold anything.
    """
    used = list(dict.fromkeys(item for members in scales.items.values() for item in members))
    absent = sorted(set(used) - set(map(str, getattr(data, "columns", []))))
    if absent:
        raise ValueError(f"scale items not in the data: {absent}")
    frame = item_frame(data[used])
    to_reverse = sorted(scales.reverse_keyed & set(used))
    if to_reverse:
        if scales.response_range is None:
            raise ValueError(f"reverse-keyed items {to_reverse} need a response_range")
        low, high = scales.response_range
        frame[to_reverse] = low + high - frame[to_reverse]
    return frame


def _item_of(member: Any, *, scale: str) -> tuple[str, bool]:
    if isinstance(member, str):
        item_id = member.strip()
        if item_id.startswith("-"):
            return item_id[1:].strip(), True
        return item_id, False
    if hasattr(member, "id"):
        return str(member.id), bool(getattr(member, "reverse_keyed", False))
    raise ValueError(f"item {member!r} of scale {scale!r} is neither an id nor an item")
