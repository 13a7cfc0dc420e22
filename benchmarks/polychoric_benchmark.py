"""Wall-clock time of ``analysis.polychoric.polychoric`` on 20,000 respondents x 30 items.

The data are the test suite's (``tests/analysis/test_polychoric.py``): one latent factor, 5-point
items, 5% missing cells. The time used to be asserted by that test; a timed assertion fails on
a busy machine and proves nothing on a fast one, so it is measured here instead. R psych's
``polychoric()`` takes about 1.5 s on the same shape (PITFALLS.md).

Run with ``python benchmarks/polychoric_benchmark.py [--runs N]``; prints the median and range.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from analysis.polychoric import polychoric


def sample(n: int = 20_000, k: int = 30, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    latent = 0.7 * rng.normal(size=(n, 1)) + 0.7 * rng.normal(size=(n, k))
    answers = np.digitize(latent, [-1.5, -0.5, 0.5, 1.5]).astype(float) + 1
    answers[rng.random(answers.shape) < 0.05] = np.nan
    return answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    answers = sample()
    polychoric(answers[:500])  # warm up imports and caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        polychoric(answers)
        times.append(time.perf_counter() - start)
    print(
        f"polychoric 20,000 x 30: median {statistics.median(times):.3f} s "
        f"(min {min(times):.3f}, max {max(times):.3f}, {runs} runs)"
    )


if __name__ == "__main__":
    main()
