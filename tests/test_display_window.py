"""The display window of the PNG renderings: the histogram / look-up-table path for integer counts
(dspic_lib.data.display) gives exactly what the float formula gives."""
from __future__ import annotations

import numpy as np
import pytest

from dspic_lib.data import display


def _reference(counts):
    px = np.asarray(counts, np.float64)
    pos = px[px > 0]
    top = float(np.percentile(pos, display.WINDOW_PERCENTILE)) if len(pos) else 1.0
    top = top if top > 0 else 1.0
    return (255 - np.rint(np.clip(px / top, 0, 1) * 255)).astype(np.uint8), top


@pytest.mark.parametrize("lam", [0.0, 0.02, 0.5, 4.0, 60.0, 4000.0])
def test_integer_counts_give_the_same_window_and_grey_levels_as_the_float_formula(lam):
    rng = np.random.default_rng(int(lam * 10))
    for _ in range(20):
        counts = rng.poisson(lam, (int(rng.integers(1, 40)), int(rng.integers(1, 40)))).astype(np.uint16)
        grey, top = display.grey_levels(counts)
        ref_grey, ref_top = _reference(counts)
        assert top == ref_top and np.array_equal(grey, ref_grey)
        float_grey, float_top = display.grey_levels(counts.astype(np.float32))   # the float path
        assert float_top == ref_top and np.array_equal(float_grey, ref_grey)
