"""BLAS on one thread for a block of work, with threadpoolctl's controller built only once.

Every analysis that multiplies or decomposes matrices runs BLAS single-threaded (the measured
reasons are where it is used). ``threadpoolctl.threadpool_limits`` finds the BLAS libraries
anew on every call, 4 ms each here, which was 0.05 s of an ordinal workup of eleven such calls;
the controller found at the first call is kept instead. It holds the BLAS that is loaded by
then, NumPy's, which does every product over the rows.
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
