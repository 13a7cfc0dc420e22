"""Minimization of a smooth function within lower and upper bounds, in NumPy alone.

The factor extractions fit uniquenesses within [0.005, 1]; this replaces scipy.optimize's
L-BFGS-B there, whose import alone cost 0.17 s of the command line's start-up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# L-BFGS-B's line search (Byrd et al., 1995, as scipy runs it): Moré and Thuente's search for
# a step that decreases the function by 1e-3 of what the initial slope predicts and cuts the
# slope's size to 0.9 of the initial one (the strong Wolfe conditions), giving up once the
# bracket is within 10% of its size, and at most 20 evaluations.
_SUFFICIENT_DECREASE = 1e-3
_CURVATURE = 0.9
_BRACKET_TOLERANCE = 0.1
_MAX_EVALUATIONS = 20
# Steps remembered by the limited-memory BFGS matrix: L-BFGS-B's default (scipy's maxcor).
_MEMORY = 10
_EPS = np.finfo(float).eps
_STRICTLY_LOWER = np.tri(_MEMORY, k=-1)
_IDENTITY = np.eye(_MEMORY)


@dataclass(frozen=True)
class BoundedMinimum:
    """Where a bounded minimization stopped, the function value there and why.

    ``converged`` is True when the projected gradient or the relative decrease of the
    function met its tolerance, False when the iterations ran out or no step decreased it.
    """

    x: np.ndarray
    fun: float
    converged: bool
    iterations: int


def minimize_within_bounds(
    fun: Callable[..., tuple[float, np.ndarray]],
    x0: np.ndarray,
    lower: float | np.ndarray,
    upper: float | np.ndarray,
    *,
    args: tuple[Any, ...] = (),
    ftol: float = 1e-12,
    gtol: float = 1e-8,
    max_iter: int = 1000,
) -> BoundedMinimum:
    """Minimize ``fun`` within ``lower <= x <= upper`` by L-BFGS-B's projected quasi-Newton method.

    A NumPy reimplementation of L-BFGS-B 3.0 (Byrd, Lu, Nocedal & Zhu, 1995; Morales & Nocedal,
    2011) as scipy runs it (``optimize.minimize(method="L-BFGS-B")``, 10 stored steps). Each
    iteration builds the quadratic model of the function from a limited-memory BFGS matrix.
    Following the projected steepest-descent path to the model's first minimum (the
    generalized Cauchy point) decides which variables stay on a bound: those already on a
    bound that the gradient points out of, and those the path pushes onto one. A quasi-Newton
    step of the other variables follows, projected onto the box (or cut at the first bound if
    the projection would not descend), as in Bertsekas's (1982) projected Newton method. Moré
    and Thuente's line search then picks the step length. So a uniqueness that belongs on its
    bound (a Heywood case) is held there while the others converge, as scipy holds it.

    The stopping rules are L-BFGS-B's: the largest component of the projected gradient
    ``P(x - g) - x`` is at most ``gtol``, or the relative decrease
    ``(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1)`` is at most ``ftol``. A line search that
    finds no lower point (where L-BFGS-B's rounding-error exits would take a higher one) or
    meets a value that is not finite fails: the search restarts once from steepest descent,
    as L-BFGS-B's does, and then the minimization stops unconverged.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args)`` returns the function value and its gradient (an array like ``x``).
    x0 : 1-D array
        Starting point; moved into the box if it lies outside.
    lower, upper : float or 1-D array
        Bounds, one per variable or one for all; ``-inf`` or ``inf`` leaves that side open.
    args : tuple
        Further arguments of ``fun``.
    ftol : float
        Tolerance on the relative decrease of the function in one iteration.
    gtol : float
        Tolerance on the largest component of the projected gradient.
    max_iter : int
        Most iterations (accepted steps).

    Returns
    -------
    BoundedMinimum
        The last point, its function value, whether a stopping rule was met and the
        number of iterations.

    References
    ----------
    Bertsekas, D. P. (1982). Projected Newton methods for optimization problems with simple
    constraints. SIAM Journal on Control and Optimization, 20, 221-246.
    Byrd, R. H., Lu, P., Nocedal, J. & Zhu, C. (1995). A limited memory algorithm for bound
    constrained optimization. SIAM Journal on Scientific Computing, 16, 1190-1208.
    Byrd, R. H., Nocedal, J. & Schnabel, R. B. (1994). Representations of quasi-Newton
    matrices and their use in limited memory methods. Mathematical Programming, 63, 129-156.
    Moré, J. J. & Thuente, D. J. (1994). Line search algorithms with guaranteed sufficient
    decrease. ACM Transactions on Mathematical Software, 20, 286-307.
    Morales, J. L. & Nocedal, J. (2011). Remark on "Algorithm 778: L-BFGS-B". ACM
    Transactions on Mathematical Software, 38, 7:1-7:4.

    Examples
    --------
    A bowl centred at (2, -1), restricted to the unit square: the minimum is on its corner.

    >>> import numpy as np
    >>> centre = np.array([2.0, -1.0])
    >>> def bowl(x):
    ...     return float(np.sum((x - centre) ** 2)), 2 * (x - centre)
    >>> result = minimize_within_bounds(bowl, np.array([0.5, 0.5]), 0.0, 1.0)
    >>> result.x.tolist(), result.fun, result.converged
    ([1.0, 0.0], 2.0, True)
    """
    box = _Box(fun, args, *_checked_bounds(x0, lower, upper, max_iter))
    x = box.project(np.asarray(x0, dtype=float))
    value, gradient = box.evaluate(x)
    memory = _LimitedMemoryBFGS(x.size)
    for iteration in range(max_iter):
        if box.projected_gradient_size(x, gradient) <= gtol:
            return BoundedMinimum(x, value, True, iteration)
        step = _step(box, x, value, gradient, memory, first=iteration == 0)
        if step is None and not memory.empty:
            # The quasi-Newton model misled the search: try again from steepest descent.
            memory = _LimitedMemoryBFGS(x.size)
            step = _step(box, x, value, gradient, memory, first=iteration == 0)
        if step is None:
            return BoundedMinimum(x, value, False, iteration)
        new_x, new_value, new_gradient = step
        memory.remember(new_x - x, new_gradient - gradient, gradient)
        decrease = (value - new_value) / max(abs(value), abs(new_value), 1.0)
        x, value, gradient = new_x, new_value, new_gradient
        if decrease <= ftol:
            return BoundedMinimum(x, value, True, iteration + 1)
    converged = box.projected_gradient_size(x, gradient) <= gtol
    return BoundedMinimum(x, value, bool(converged), max_iter)


@dataclass(frozen=True)
class _Box:
    """The function to minimize, its further arguments and the bounds of its variables."""

    fun: Callable[..., tuple[float, np.ndarray]]
    args: tuple[Any, ...]
    lower: np.ndarray
    upper: np.ndarray

    def evaluate(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = self.fun(x, *self.args)
        return float(value), np.asarray(gradient, dtype=float)

    def project(self, x: np.ndarray) -> np.ndarray:
        # np.minimum/np.maximum: a third of np.clip's overhead, which counts at this size.
        return np.minimum(np.maximum(x, self.lower), self.upper)

    def projected_gradient_size(self, x: np.ndarray, gradient: np.ndarray) -> float:
        """The largest component of ``P(x - g) - x``, L-BFGS-B's measure of stationarity."""
        return float(np.max(np.abs(self.project(x - gradient) - x)))

    @property
    def bounded(self) -> bool:
        """Whether every variable has both bounds."""
        return bool(np.isfinite(self.lower).all() and np.isfinite(self.upper).all())

    @property
    def constrained(self) -> bool:
        """Whether any variable has a bound."""
        return bool(np.isfinite(self.lower).any() or np.isfinite(self.upper).any())

    def longest_step(self, x: np.ndarray, direction: np.ndarray) -> float:
        """The largest ``a`` that keeps ``x + a * direction`` within the bounds."""
        room = np.where(direction > 0, self.upper - x, self.lower - x)
        steps = np.divide(room, direction, out=np.full(x.size, np.inf), where=direction != 0)
        return float(steps.min())


class _LimitedMemoryBFGS:
    """L-BFGS-B's Hessian approximation ``B = theta I - W M W'`` from the last few steps
    ``s`` and gradient changes ``y`` (the compact form of Byrd, Nocedal & Schnabel, 1994).

    Empty, it is the identity. A pair without positive curvature is skipped, as L-BFGS-B
    skips it, so ``B`` stays positive definite; ``theta`` is ``y'y / s'y`` of the last pair.
    """

    def __init__(self, size: int) -> None:
        self.steps = np.empty((size, 0))
        self.changes = np.empty((size, 0))
        self.theta = 1.0
        self.w = np.empty((size, 0))
        self.middle_inverse = np.empty((0, 0))
        self.middle = np.empty((0, 0))

    @property
    def empty(self) -> bool:
        return self.steps.shape[1] == 0

    def remember(self, s: np.ndarray, y: np.ndarray, gradient: np.ndarray) -> None:
        """Add the step ``s`` from a point with ``gradient`` and the gradient's change ``y``."""
        curvature, size = float(s @ y), float(y @ y)
        if curvature <= _EPS * -float(gradient @ s):
            return
        kept = slice(1 - _MEMORY, None)
        self.steps = np.column_stack((self.steps[:, kept], s))
        self.changes = np.column_stack((self.changes[:, kept], y))
        self.theta = size / curvature
        self.w = np.concatenate((self.changes, self.theta * self.steps), axis=1)
        # inv(M) = [[-D, L'], [L, theta S'S]] with D = diag(s_i'y_i), L_ij = s_i'y_j (i > j);
        # S'W = [S'Y, theta S'S] gives every block.
        m = self.steps.shape[1]
        products = self.steps.T @ self.w
        sy = products[:, :m]
        self.middle_inverse = np.empty((2 * m, 2 * m))
        self.middle_inverse[:m, :m] = -sy * _IDENTITY[:m, :m]
        self.middle_inverse[m:, :m] = sy * _STRICTLY_LOWER[:m, :m]
        self.middle_inverse[:m, m:] = self.middle_inverse[m:, :m].T
        self.middle_inverse[m:, m:] = products[:, m:]
        self.middle = np.linalg.inv(self.middle_inverse)

    def newton_step(self, gradient: np.ndarray, free: np.ndarray | None = None) -> np.ndarray:
        """``-inv(B_FF) g_F``: the quasi-Newton step of the free variables ``F`` (all if None).

        By the Sherman-Morrison-Woodbury formula, as L-BFGS-B's subspace minimization
        (Byrd et al., 1995, eq. 5.11): ``inv(B_FF) = I / theta + W_F K^-1 W_F' / theta^2``
        with ``K = inv(M) - W_F' W_F / theta``.
        """
        g = gradient if free is None else gradient[free]
        if self.empty:
            return -g / self.theta
        w = self.w if free is None else self.w[free]
        inner = self.middle_inverse - (w.T @ w) / self.theta
        return -(g / self.theta + w @ np.linalg.solve(inner, w.T @ g) / self.theta**2)


def _checked_bounds(
    x0: np.ndarray, lower: float | np.ndarray, upper: float | np.ndarray, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    shape = np.shape(x0)
    if len(shape) != 1 or shape[0] == 0 or not np.isfinite(x0).all():
        raise ValueError(f"x0 must be a non-empty 1-D array of finite numbers, got {x0!r}")
    try:
        lower, upper = (np.broadcast_to(np.asarray(b, dtype=float), shape) for b in (lower, upper))
    except ValueError:
        raise ValueError(
            f"bounds of shapes {np.shape(lower)} and {np.shape(upper)} do not fit x0 of "
            f"shape {shape}"
        ) from None
    if np.isnan(lower).any() or np.isnan(upper).any() or (lower > upper).any():
        raise ValueError(f"need lower <= upper for every variable, got {lower} and {upper}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    return lower, upper


def _step(
    box: _Box,
    x: np.ndarray,
    value: float,
    gradient: np.ndarray,
    memory: _LimitedMemoryBFGS,
    *,
    first: bool,
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """The next point with its value and gradient, or None if no step decreased the function.

    The search runs from ``x`` towards the minimizer of the quadratic model that
    :func:`_model_minimizer` finds, as far as the box allows.
    """
    try:
        direction = _model_minimizer(box, x, gradient, memory) - x
    except np.linalg.LinAlgError:
        return None
    if not gradient @ direction < 0:
        return None  # rounding has cost the matrix its positive definiteness
    longest = box.longest_step(x, direction)
    step = 1.0
    if first:
        # L-BFGS-B's first search stops at the projected gradient step if any variable is
        # bounded, and tries a step of unit length first unless every variable is.
        if box.constrained:
            longest = min(longest, 1.0)
        if not box.bounded:
            step = min(1.0 / math.sqrt(direction @ direction), longest)
    return _line_search(box, x, value, gradient, direction, step=step, longest=longest)


def _model_minimizer(
    box: _Box, x: np.ndarray, gradient: np.ndarray, memory: _LimitedMemoryBFGS
) -> np.ndarray:
    """L-BFGS-B's approximate minimizer of the quadratic model ``g'd + d'Bd / 2`` in the box.

    The generalized Cauchy point fixes the variables that reach a bound along the projected
    steepest-descent path before the model's minimum on it; the quasi-Newton step of the
    rest follows (the direct primal subspace minimization), projected onto the box. Where
    that projection no longer descends, the step is instead cut at the first bound it meets
    (L-BFGS-B 3.0, Morales & Nocedal, 2011).
    """
    cauchy, fixed, c = _cauchy_point(box, x, gradient, memory)
    held = np.count_nonzero(fixed)
    if held == x.size:
        return cauchy
    if held:
        # The model's gradient at the Cauchy point: g + B (x_c - x), with W'(x_c - x) = c.
        model_gradient = gradient + memory.theta * (cauchy - x) - memory.w @ (memory.middle @ c)
        target = cauchy.copy()
        target[~fixed] += memory.newton_step(model_gradient, ~fixed)
    else:
        # With every variable free the subspace step ends at the model's minimizer, x - g/B.
        target = x + memory.newton_step(gradient)
    projected = box.project(target)
    if gradient @ (projected - x) < 0:
        return projected
    move = target - cauchy
    return cauchy + min(1.0, box.longest_step(cauchy, move)) * move


def _cauchy_point(
    box: _Box, x: np.ndarray, gradient: np.ndarray, memory: _LimitedMemoryBFGS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first minimizer of the quadratic model along the path ``P(x - t g)``, t >= 0.

    Byrd et al. (1995), algorithm CP: the path bends where a variable reaches its bound; the
    model's slope and curvature are updated at each bend until its minimum lies before the
    next one. Returns the point, which variables it holds on a bound, and ``W'(x_c - x)``.
    """
    g = gradient
    # How far along -g each variable meets its bound: 0 on a bound the gradient points out of.
    room = np.where(g > 0, x - box.lower, x - box.upper)
    bends = np.divide(room, g, out=np.full(x.size, np.inf), where=g != 0)
    fixed = bends <= 0
    bends[fixed] = np.inf
    d = -g
    d[fixed] = 0.0
    w, middle, theta = memory.w, memory.middle, memory.theta
    p = w.T @ d
    slope = -float(d @ d)
    curvature = -theta * slope - float(p @ (middle @ p))  # d'Bd
    minimum = -slope / curvature  # distance to the model's minimum on the current segment
    if minimum < bends.min():
        return x + minimum * d, fixed, minimum * p
    least_curvature = _EPS * curvature
    c = np.zeros_like(p)
    reached = 0.0
    point = x.copy()
    for b in np.argsort(bends):
        bend = bends[b]
        if not np.isfinite(bend) or minimum < bend - reached:
            break
        point[b] = box.upper[b] if d[b] > 0 else box.lower[b]
        c += (bend - reached) * p
        gb, wb = float(g[b]), w[b]
        mw = middle @ wb
        slope += (bend - reached) * curvature + gb * gb + theta * gb * float(point[b] - x[b])
        slope -= gb * float(mw @ c)
        curvature -= theta * gb * gb + 2 * gb * float(mw @ p) + gb * gb * float(mw @ wb)
        curvature = max(curvature, least_curvature)
        p += gb * wb
        d[b] = 0.0
        fixed[b] = True
        minimum = -slope / curvature
        reached = bend
    # Past the last bend with nothing left to move, the path ends there.
    minimum = max(minimum, 0.0) if np.count_nonzero(d) else 0.0
    point += (reached + minimum) * d
    c += minimum * p
    return point, fixed, c


def _line_search(
    box: _Box,
    x: np.ndarray,
    value: float,
    gradient: np.ndarray,
    direction: np.ndarray,
    *,
    step: float,
    longest: float,
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """The point along ``direction``, at most ``longest`` steps away, where Moré and Thuente's
    search stops; None if it found no lower point within its evaluations."""
    step = min(step, longest)
    search = _MoreThuente(value, float(gradient @ direction), step, longest)
    for _ in range(_MAX_EVALUATIONS):
        point = box.project(x + step * direction)
        trial_value, trial_gradient = box.evaluate(point)
        if not np.isfinite(trial_value):
            return None
        next_step = search.next_step(step, trial_value, float(trial_gradient @ direction))
        if next_step is None:
            return (point, trial_value, trial_gradient) if trial_value <= value else None
        step = next_step
    return None


class _MoreThuente:
    """Moré and Thuente's (1994) line search (MINPACK-2's ``dcsrch``), which L-BFGS-B runs.

    It keeps an interval ``[best, other]`` of steps (each with its value and slope) that
    brackets a step meeting the strong Wolfe conditions once ``bracketed``; until then it
    extrapolates. While no step has met the sufficient decrease condition with a rising
    slope (stage 1), it works on ``f(a) - f(0) - 1e-3 a f'(0)`` instead of ``f``.
    """

    def __init__(self, value: float, slope: float, step: float, longest: float) -> None:
        self.initial_value, self.initial_slope = value, slope
        self.decrease_slope = _SUFFICIENT_DECREASE * slope
        self.longest = longest
        self.bracketed, self.stage = False, 1
        self.best = self.other = (0.0, value, slope)
        self.width, self.previous_width = longest, 2 * longest
        self.lowest, self.highest = 0.0, 5 * step

    def next_step(self, step: float, value: float, slope: float) -> float | None:
        """The next step to try after ``step``, or None if the search stops at ``step``."""
        enough = value <= self.initial_value + step * self.decrease_slope
        if self.stage == 1 and enough and slope >= 0:
            self.stage = 2
        if (
            (enough and abs(slope) <= -_CURVATURE * self.initial_slope)
            or (step == self.longest and enough and slope <= self.decrease_slope)
            or (self.bracketed and not self.lowest < step < self.highest)
            or (self.bracketed and self.highest - self.lowest <= _BRACKET_TOLERANCE * self.highest)
        ):
            return None
        trial = (step, value, slope)
        if self.stage == 1 and not enough and value <= self.best[1]:
            shift = self.decrease_slope
            best, other, step, self.bracketed = _safeguarded_step(
                _shifted(self.best, -shift),
                _shifted(self.other, -shift),
                _shifted(trial, -shift),
                bracketed=self.bracketed,
                lowest=self.lowest,
                highest=self.highest,
            )
            self.best, self.other = _shifted(best, shift), _shifted(other, shift)
        else:
            self.best, self.other, step, self.bracketed = _safeguarded_step(
                self.best,
                self.other,
                trial,
                bracketed=self.bracketed,
                lowest=self.lowest,
                highest=self.highest,
            )
        best, other = self.best[0], self.other[0]
        if self.bracketed:
            # Bisect when the last two steps did not shrink the interval by a third.
            if abs(other - best) >= 0.66 * self.previous_width:
                step = best + 0.5 * (other - best)
            self.previous_width, self.width = self.width, abs(other - best)
            self.lowest, self.highest = min(best, other), max(best, other)
        else:
            self.lowest, self.highest = step + 1.1 * (step - best), step + 4.0 * (step - best)
        step = min(max(step, 0.0), self.longest)
        if self.bracketed and (
            not self.lowest < step < self.highest
            or self.highest - self.lowest <= _BRACKET_TOLERANCE * self.highest
        ):
            step = best
        return step


def _shifted(point: tuple[float, float, float], slope: float) -> tuple[float, float, float]:
    """A (step, value, slope) with ``slope * step`` added to the value and ``slope`` to the
    slope: between ``f`` and Moré and Thuente's modified function."""
    step, value, point_slope = point
    return step, value + step * slope, point_slope + slope


def _safeguarded_step(
    best: tuple[float, float, float],
    other: tuple[float, float, float],
    trial: tuple[float, float, float],
    *,
    bracketed: bool,
    lowest: float,
    highest: float,
) -> tuple[tuple[float, float, float], tuple[float, float, float], float, bool]:
    """MINPACK-2's ``dcstep``: the new interval, the next step and whether it is bracketed.

    A cubic or quadratic fit to the best and trial points (or the interval's ends) picks the
    step, in the four cases of Moré and Thuente (1994), section 4.
    """
    (stx, fx, dx), (sty, fy, dy), (stp, fp, dp) = best, other, trial
    opposite = dp < 0 < dx or dx < 0 < dp
    if fp > fx:
        # Case 1: a higher value; the minimum is bracketed.
        theta, gamma = _cubic_terms(stx, fx, dx, stp, fp, dp, negate=stp < stx)
        cubic = stx + ((gamma - dx) + theta) / (((gamma - dx) + gamma) + dp) * (stp - stx)
        quadratic = stx + dx / ((fx - fp) / (stp - stx) + dx) / 2 * (stp - stx)
        if abs(cubic - stx) <= abs(quadratic - stx):
            next_step = cubic
        else:
            next_step = cubic + (quadratic - cubic) / 2
        bracketed = True
    elif opposite:
        # Case 2: lower, with the slope's sign changed; the minimum is bracketed.
        theta, gamma = _cubic_terms(stx, fx, dx, stp, fp, dp, negate=stp > stx)
        cubic = stp + ((gamma - dp) + theta) / (((gamma - dp) + gamma) + dx) * (stx - stp)
        secant = stp + dp / (dp - dx) * (stx - stp)
        next_step = cubic if abs(cubic - stp) > abs(secant - stp) else secant
        bracketed = True
    elif abs(dp) < abs(dx):
        # Case 3: lower, same sign, the slope's size shrinking.
        theta, gamma = _cubic_terms(stx, fx, dx, stp, fp, dp, negate=stp > stx)
        ratio = ((gamma - dp) + theta) / ((gamma + (dx - dp)) + gamma)
        if ratio < 0 and gamma != 0:
            cubic = stp + ratio * (stx - stp)
        else:
            cubic = highest if stp > stx else lowest
        secant = stp + dp / (dp - dx) * (stx - stp)
        if bracketed:
            next_step = cubic if abs(cubic - stp) < abs(secant - stp) else secant
            reach = stp + 0.66 * (sty - stp)
            next_step = min(reach, next_step) if stp > stx else max(reach, next_step)
        else:
            next_step = cubic if abs(cubic - stp) > abs(secant - stp) else secant
            next_step = min(max(next_step, lowest), highest)
    elif bracketed:
        # Case 4: lower, same sign, the slope not shrinking; fit the other end instead.
        theta, gamma = _cubic_terms(sty, fy, dy, stp, fp, dp, negate=stp > sty)
        next_step = stp + ((gamma - dp) + theta) / (((gamma - dp) + gamma) + dy) * (sty - stp)
    else:
        next_step = highest if stp > stx else lowest
    if fp > fx:
        other = trial
    else:
        if opposite:
            other = best
        best = trial
    return best, other, next_step, bracketed


def _cubic_terms(
    a: float, fa: float, da: float, b: float, fb: float, db: float, *, negate: bool
) -> tuple[float, float]:
    """``dcstep``'s theta and gamma for the cubic through two points' values and slopes:
    gamma is the square-root term, scaled against overflow and signed as ``dcstep`` signs it."""
    theta = 3 * (fa - fb) / (b - a) + da + db
    scale = max(abs(theta), abs(da), abs(db))
    gamma = scale * math.sqrt(max(0.0, (theta / scale) ** 2 - (da / scale) * (db / scale)))
    return theta, -gamma if negate else gamma
