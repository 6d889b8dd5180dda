import numpy as np
import pandas as pd
import pytest

from dspic_lib.errors import DataError
from dspic_lib.pipeline import preprocess


def test_eq1_maps_min_to_0_and_max_to_1_in_float32():
    x = np.array([[10, 20], [30, 110]], dtype=np.uint16)
    out = preprocess.normalize(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 0.1], [0.2, 1.0]], rtol=1e-6)


def test_negative_counts_are_clipped_before_eq1():
    # JPEG 2000 ringing: -50 next to a hot spot must not lift the zero background to 50/150
    x = np.array([[-50.0, 0.0, 0.0, 100.0]])
    out = preprocess.normalize(x)
    np.testing.assert_allclose(out, [[0.0, 0.0, 0.0, 1.0]])


def test_constant_image_raises_naming_the_image():
    with pytest.raises(DataError, match="scan7.dcm.*constant"):
        preprocess.normalize(np.full((8, 4), 3.0), name="scan7.dcm")
    with pytest.raises(DataError, match="scan8.dcm"):
        preprocess.preprocess_image(np.full((64, 16), -2.0), (16, 4), name="scan8.dcm")


def test_preprocess_spans_exactly_0_to_1_at_the_new_shape():
    rng = np.random.default_rng(0)
    x = rng.poisson(20, (1024, 256)).astype(np.uint16)
    out = preprocess.preprocess_image(x, (256, 64))
    assert out.shape == (256, 64) and out.dtype == np.float32
    assert out.min() == 0.0 and out.max() == 1.0


def test_resize_is_anti_aliased():
    # a one-pixel checkerboard has no content at a quarter of the resolution: it must average out
    board = (np.indices((64, 16)).sum(axis=0) % 2).astype(np.float32)
    small = preprocess.resize(board, (16, 4))
    assert small.std() < 0.05
    assert abs(small.mean() - 0.5) < 0.05


def test_boxes_scale_with_the_image():
    boxes = np.array([[0, 0, 256, 1024], [128, 512, 132, 520]])
    out = preprocess.scale_boxes(boxes, (1024, 256), (256, 64))
    np.testing.assert_allclose(out, [[0, 0, 64, 256], [32, 128, 33, 130]])


def test_scaled_box_still_covers_the_resized_lesion():
    x = np.zeros((1024, 256), np.float32)
    x[400:440, 100:120] = 1000.0
    out = preprocess.preprocess_image(x, (256, 64))
    (x0, y0, x1, y1), = preprocess.scale_boxes([[100, 400, 120, 440]], x.shape, out.shape)
    hot = np.argwhere(out > 0.5)
    assert ((hot[:, 0] + 0.5 >= y0) & (hot[:, 0] + 0.5 <= y1) & (hot[:, 1] + 0.5 >= x0) & (hot[:, 1] + 0.5 <= x1)).all()


def test_store_entry_round_trip_without_pickles(tmp_path):
    p = preprocess.Preprocessed(
        X=np.random.default_rng(1).random((3, 8, 2)).astype(np.float32),
        boxes=[np.zeros((0, 4), np.float32), np.array([[0, 1, 2, 3]], np.float32),
               np.array([[1, 1, 2, 2], [0, 0, 1, 1]], np.float32)],
        diseases=[[], ["metastasis"], ["arthritis", "metastasis"]],
        source_shapes=np.array([[32, 8]] * 3))
    np.save(tmp_path / "X.npy", p.X)          # as preprocess_cohort writes it (through a memory map)
    preprocess._write_boxes(tmp_path, p.boxes, p.diseases, p.source_shapes)
    with np.load(tmp_path / "boxes.npz", allow_pickle=False) as z:   # must load without pickles
        assert set(z.files) >= {"boxes", "box_counts", "diseases"}
    np.testing.assert_array_equal(np.load(tmp_path / "X.npy", allow_pickle=False), p.X)

    class FakeCohort:
        table = pd.DataFrame({"path": ["a", "b", "c"]})
    entry = type("E", (), {"file": lambda self, n: tmp_path / n, "id": "x/y", "path": tmp_path})()
    q = preprocess._read_entry(entry, FakeCohort(), (8, 2))
    assert isinstance(q.X, np.memmap)        # read back memory-mapped, not loaded
    np.testing.assert_array_equal(q.X, p.X)
    assert [b.tolist() for b in q.boxes] == [b.tolist() for b in p.boxes]
    assert q.diseases == p.diseases


@pytest.fixture(scope="module")
def tiny_cohort(tmp_path_factory):
    from dspic_lib.data import cohort, phantom
    folder = tmp_path_factory.mktemp("cohort") / "syn"
    phantom.generate(folder, phantom.PhantomConfig(n_patients=4, seed=3), workers=1, progress=False)
    return cohort.scan(folder)


def test_preprocess_cohort_reads_every_image_once_and_then_the_store(tiny_cohort, tmp_path, monkeypatch):
    from dspic_lib.data import dicom
    first = preprocess.preprocess_cohort(tiny_cohort, (64, 16), store=tmp_path)
    assert first.X.shape == (len(tiny_cohort.table), 64, 16)
    assert (first.X.reshape(len(first), -1).max(1) == 1).all()
    assert [len(b) for b in first.boxes] == tiny_cohort.table["n_lesions"].tolist()
    assert first.store_id.startswith("preprocessed/") and (tmp_path / first.store_id / "X.npy").exists()

    def no_decoding(*a, **k):
        raise AssertionError("the store was not used")
    monkeypatch.setattr(dicom, "_decode_frame", no_decoding)
    again = preprocess.preprocess_cohort(tiny_cohort, (64, 16), store=tmp_path)
    np.testing.assert_array_equal(again.X, first.X)
    assert [b.tolist() for b in again.boxes] == [b.tolist() for b in first.boxes]
    with pytest.raises(DataError, match="store was not used"):   # another resolution is another entry
        preprocess.preprocess_cohort(tiny_cohort, (32, 8), store=tmp_path)


def test_the_key_follows_the_file_contents(tmp_path):
    from dspic_lib.data import cohort, phantom
    folder = tmp_path / "syn"
    phantom.generate(folder, phantom.PhantomConfig(n_patients=2, seed=5), workers=1, progress=False)
    a = cohort.scan(folder)
    assert a.fingerprint == cohort.scan(folder).fingerprint
    js = sorted(folder.rglob("*.json"))[0]
    js.write_text(js.read_text().replace('"version"', '"version" ', 1))   # same annotation, other bytes
    assert cohort.scan(folder).fingerprint != a.fingerprint


def test_boxes_of_the_cohort_cover_their_lesions_after_resizing(tiny_cohort, tmp_path):
    from dspic_lib.data.cohort import load_pixels
    pre = preprocess.preprocess_cohort(tiny_cohort, (256, 64), store=tmp_path)
    table = tiny_cohort.table
    for i in range(len(table)):
        for les, box in zip(table["lesions"].iloc[i], pre.boxes[i]):
            x0, y0, x1, y1 = les.box
            np.testing.assert_allclose(box, [x0 / 4, y0 / 4, x1 / 4, y1 / 4], rtol=1e-5)
    assert load_pixels(tiny_cohort, table.iloc[0]).shape == (1024, 256)
