"""BLAS on one thread for a block of work, with threadpoolctl's controller built only once.

Every analysis that multiplies or decomposes matrices runs BLAS single-threaded, measured on
the project's two-core machine:

- products over all rows (items x rows times rows x items: moments, pair tables, sample
  covariances): with other processes running, OpenBLAS's threads wait for each other, and
  these took 10 to 20 times longer on two threads than on one (moments of 100,000 x 30:
  6.0 s of CPU against 0.3 s);
- the many small (items x items) decompositions of factor fits: threaded OpenBLAS made the
  21 one-factor fits of a 30-item parallel analysis 10 to 20 times slower (1.4 s against
  0.1 s), and each 30 x 30 ``eigh`` 4 times slower (0.53 ms against 0.14 ms).

``threadpoolctl.threadpool_limits`` finds the BLAS libraries anew on every call, 4 ms each
here, which was 0.05 s of an ordinal workup of eleven such calls; the controller found at the
first call is kept instead. It holds the BLAS that is loaded by then, NumPy's, which does every
product over the rows.
"""

from __future__ import annotations

from functools import cache

from threadpoolctl import ThreadpoolController


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def one_blas_thread():
    """A context manager that runs BLAS on one thread and restores the limits on exit.

    Examples
    --------
    >>> import numpy as np
    >>> with one_blas_thread():
    ...     float((np.ones((2, 3)) @ np.ones((3, 2)))[0, 0])
    3.0
    """
    return _controller().limit(limits=1, user_api="blas")
