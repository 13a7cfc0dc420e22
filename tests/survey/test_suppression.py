"""Small-cell suppression: no hidden cell can be worked out from what a table publishes."""

from __future__ import annotations

import numpy as np
import pytest

from survey.suppression import suppress_line, suppress_table


def published_system(counts: np.ndarray, hidden) -> tuple[np.ndarray, list[str]]:
    """The linear equations a reader has about the hidden values (cells and totals).

    Every line says: total = sum of its cells. Known values move to the right-hand side, so
    only the unknowns' coefficients matter for what can be solved.
    """
    n_rows, n_cols = counts.shape
    unknowns = [f"c{i},{j}" for i in range(n_rows) for j in range(n_cols) if hidden.cells[i, j]]
    unknowns += [f"r{i}" for i in range(n_rows) if hidden.row_totals[i]]
    unknowns += [f"k{j}" for j in range(n_cols) if hidden.column_totals[j]]
    unknowns += ["g"] if hidden.grand_total else []
    index = {name: k for k, name in enumerate(unknowns)}
    equations = []

    def equation(total: str, parts: list[str]):
        row = np.zeros(len(unknowns))
        if total in index:
            row[index[total]] = -1
        for part in parts:
            if part in index:
                row[index[part]] += 1
        equations.append(row)

    for i in range(n_rows):
        equation(f"r{i}", [f"c{i},{j}" for j in range(n_cols)])
    for j in range(n_cols):
        equation(f"k{j}", [f"c{i},{j}" for i in range(n_rows)])
    equation("g", [f"r{i}" for i in range(n_rows)])
    equation("g", [f"k{j}" for j in range(n_cols)])
    return np.array(equations).reshape(len(equations), len(unknowns)), unknowns


def determined(system: np.ndarray, k: int) -> bool:
    """Whether unknown ``k`` is fixed by the equations (its unit vector is in their row space)."""
    unit = np.zeros(system.shape[1])
    unit[k] = 1
    return np.linalg.matrix_rank(np.vstack([system, unit])) == np.linalg.matrix_rank(system)


def test_one_small_cell_takes_a_second_one_with_it():
    # 20 + 3 + 12 = 35 is shown as the clinic's total: hiding only the 3 would give it away.
    assert suppress_line([20, 3, 12], min_cell=5).tolist() == [False, True, True]


def test_two_small_cells_that_add_up_to_too_few_take_a_third():
    assert suppress_line([2, 1, 30, 8], min_cell=5).tolist() == [True, True, False, True]


def test_nothing_hidden_when_every_cell_is_large_or_empty():
    assert not suppress_line([5, 0, 40], min_cell=5).any()


def test_a_small_total_hides_everything():
    table = suppress_table([[1, 2], [0, 1]], min_cell=5)
    assert table.cells[np.array([[1, 2], [0, 1]]) > 0].all() and table.grand_total


@pytest.mark.parametrize("seed", range(40))
def test_no_hidden_value_can_be_solved_for(seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(2, 7)), int(rng.integers(1, 6)))
    # Many small cells, some empty, a few large: as a young clinic's clinician x quarter table.
    counts = rng.choice([0, 1, 2, 3, 4, 6, 9, 15, 30], size=shape)
    hidden = suppress_table(counts, min_cell=5)
    small = (counts > 0) & (counts < 5)
    assert hidden.cells[small].all()
    system, unknowns = published_system(counts, hidden)
    for k, name in enumerate(unknowns):
        assert not determined(system, k), f"{name} can be solved for in\n{counts}"
    # Along every line with a published total, the hidden cells cover 0 or at least 5.
    for i in range(shape[0]):
        if not hidden.row_totals[i]:
            mass = counts[i][hidden.cells[i]].sum()
            assert mass == 0 or mass >= 5
    for j in range(shape[1]):
        if not hidden.column_totals[j]:
            mass = counts[:, j][hidden.cells[:, j]].sum()
            assert mass == 0 or mass >= 5


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="2-D"):
        suppress_table(np.array([1, 2]), min_cell=5)
    with pytest.raises(ValueError, match="min_cell 0"):
        suppress_table([[1]], min_cell=0)


def test_examples_run():
    import doctest

    import survey.suppression

    result = doctest.testmod(survey.suppression)
    assert result.attempted > 0 and result.failed == 0
