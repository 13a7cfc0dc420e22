"""Small-cell suppression for every published aggregate, with complementary suppression.

A cell over fewer than ``min_cell`` respondents is hidden (primary suppression). Hiding it is not
enough when the table's totals are shown: a total minus the visible cells of its line gives the
hidden cells. So every line of a table (a row with its row total, a column with its column
total, the margins with the grand total) must keep either no hidden cell, or at least two hidden
cells that together cover at least ``min_cell`` respondents; a line whose total is hidden must
keep a hidden cell too. Where a line breaks the rule, its smallest visible cell is hidden
(complementary suppression), or its total when no visible cell is left, until every line holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SuppressedTable:
    """Which parts of a table with margins are hidden.

    Attributes
    ----------
    cells : ndarray of bool, rows x columns
    row_totals : ndarray of bool, one per row
    column_totals : ndarray of bool, one per column
    grand_total : bool
    """

    cells: np.ndarray
    row_totals: np.ndarray
    column_totals: np.ndarray
    grand_total: bool


def too_small(counts: np.ndarray | int, *, min_cell: int) -> np.ndarray:
    """True where a count is above zero and under ``min_cell``; an empty cell reveals nothing."""
    counts = np.asarray(counts)
    return (counts > 0) & (counts < min_cell)


def suppress_table(
    counts: np.ndarray, *, min_cell: int, hidden_first: SuppressedTable | None = None
) -> SuppressedTable:
    """Hide small cells of a table whose row, column and grand totals are all published.

    Parameters
    ----------
    counts : 2-D array of int
        Respondents behind each cell.
    min_cell : int
        Smallest number of respondents an aggregate may be shown for.
    hidden_first : SuppressedTable, optional
        Parts to hide whatever their counts (for instance because another page shows an
        aggregate that differs from them by a few respondents).

    Returns
    -------
    SuppressedTable

    Examples
    --------
    >>> table = suppress_table([[20], [3], [12]], min_cell=5)
    >>> table.cells.ravel().tolist(), bool(table.grand_total)
    ([False, True, True], False)
    """
    counts = np.asarray(counts, dtype=int)
    if counts.ndim != 2 or (counts < 0).any():
        raise ValueError(f"counts must be a 2-D table of non-negative counts, got {counts!r}")
    if min_cell < 1:
        raise ValueError(f"min_cell {min_cell}: expected at least 1")
    cells = too_small(counts, min_cell=min_cell)
    row_counts, column_counts = counts.sum(axis=1), counts.sum(axis=0)
    rows = too_small(row_counts, min_cell=min_cell)
    columns = too_small(column_counts, min_cell=min_cell)
    grand = np.array([too_small(counts.sum(), min_cell=min_cell)])
    if hidden_first is not None:
        cells |= hidden_first.cells
        rows |= hidden_first.row_totals
        columns |= hidden_first.column_totals
        grand |= hidden_first.grand_total
    changed = True
    while changed:
        changed = False
        for i in range(counts.shape[0]):
            changed |= _protect_line(counts[i], cells[i], rows, i, min_cell)
        for j in range(counts.shape[1]):
            changed |= _protect_line(counts[:, j], cells[:, j], columns, j, min_cell)
        changed |= _protect_line(row_counts, rows, grand, 0, min_cell)
        changed |= _protect_line(column_counts, columns, grand, 0, min_cell)
    return SuppressedTable(
        cells=cells, row_totals=rows, column_totals=columns, grand_total=bool(grand[0])
    )


def suppress_line(counts: np.ndarray, *, min_cell: int) -> np.ndarray:
    """:func:`suppress_table` for one line of cells whose total is published.

    Examples
    --------
    >>> suppress_line([20, 3, 12, 0], min_cell=5).tolist()
    [False, True, True, False]
    """
    return suppress_table(np.asarray(counts).reshape(-1, 1), min_cell=min_cell).cells[:, 0]


def _protect_line(
    counts: np.ndarray, hidden: np.ndarray, totals: np.ndarray, which: int, min_cell: int
) -> bool:
    """Hide more of one line (in place: its cells, else its total ``totals[which]``) until safe."""
    changed = False
    while not _line_is_safe(counts, hidden, bool(totals[which]), min_cell):
        visible = np.flatnonzero(~hidden & (counts > 0))
        if visible.size:
            hidden[visible[np.argmin(counts[visible])]] = True
        elif not totals[which]:
            totals[which] = True
        else:
            break
        changed = True
    return changed


def _line_is_safe(counts: np.ndarray, hidden: np.ndarray, total_hidden: bool, min_cell: int):
    secret = hidden & (counts > 0)
    n_hidden, mass = np.count_nonzero(secret), counts[secret].sum()
    if total_hidden:
        return n_hidden >= 1 and mass >= min(min_cell, counts.sum())
    return n_hidden == 0 or (n_hidden >= 2 and mass >= min_cell)
