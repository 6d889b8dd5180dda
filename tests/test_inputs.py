"""The tf.data training input: every row once per epoch, seeded order, images paired with their targets."""
import numpy as np
import pytest

from dspic_lib.errors import DataError
from dspic_lib.pipeline.inputs import batches


def _arrays(tmp_path, n=10):
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(n, 4, 2))
    X[:] = np.arange(n, dtype=np.float32)[:, None, None]          # image i is filled with i
    X.flush()
    y = np.eye(3, dtype=np.float32)[np.arange(n) % 3]
    return np.load(tmp_path / "X.npy", mmap_mode="r"), y


def test_one_epoch_gives_each_row_once_with_its_target_in_a_seeded_order(tmp_path):
    X, y = _arrays(tmp_path)
    seen = []
    for images, targets in batches(X, y, [1, 3, 4, 5, 7, 8, 9], batch_size=3, seed=4):
        assert images.shape[1:] == (4, 2, 1)
        rows = images.numpy()[:, 0, 0, 0].astype(int)
        np.testing.assert_array_equal(targets.numpy(), y[rows])
        seen += rows.tolist()
    assert sorted(seen) == [1, 3, 4, 5, 7, 8, 9] and seen != sorted(seen)
    again = [int(v) for a, _ in batches(X, y, [1, 3, 4, 5, 7, 8, 9], batch_size=3, seed=4)
             for v in a.numpy()[:, 0, 0, 0]]
    assert again == seen
    plain = [int(v) for a, _ in batches(X, y, batch_size=4, shuffle=False) for v in a.numpy()[:, 0, 0, 0]]
    assert plain == list(range(10))


def test_bad_inputs_are_named(tmp_path):
    X, y = _arrays(tmp_path)
    with pytest.raises(DataError, match="do not pair"):
        batches(X, y[:3], batch_size=2)
    with pytest.raises(DataError, match="no rows"):
        batches(X, y, [], batch_size=2)
