"""NM DICOM reading and writing: round trips, compressed transfer syntaxes, and bad input."""
from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from helpers import read_header
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import UID, JPEG2000Lossless, JPEGBaseline8Bit, RLELossless

from dspic_lib.data import dicom
from dspic_lib.errors import DataError

PATIENT = dicom.PatientInfo(patient_id="T0001", name="TEST^ONE", sex="F", age=61, study_date="20180301")
SMALL = (64, 32)
# files that ship inside the pydicom wheel (never fetched: get_testdata_file would try to download)
PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def counts(shape=SMALL, seed=0, lam=40.0) -> np.ndarray:
    return np.random.default_rng(seed).poisson(lam, shape).astype(np.uint16)


def write(path: Path, frames, **kwargs) -> Path:
    return dicom.write_nm(path, frames, PATIENT, uid_seed=str(path.name), **kwargs)


def save(ds, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


# ------------------------------------------------------------------------------- round trips
def test_round_trip_single_frame_gives_identical_pixels_view_and_patient(tmp_path):
    a = counts()
    path = write(tmp_path / "a.dcm", [("posterior", a)])
    info, images = dicom.read_nm(path, shape=SMALL)
    assert info.patient_id == "T0001" and info.sex == "F" and info.age == 61
    assert [im.view for im in images] == ["posterior"]
    assert images[0].pixels.dtype == np.float32
    np.testing.assert_array_equal(images[0].pixels, a.astype(np.float32))
    assert images[0].notes == ()


def test_round_trip_two_frame_file_tells_the_views_apart(tmp_path):
    a, p = counts(seed=1), counts(seed=2)
    path = write(tmp_path / "wb.dcm", [("anterior", a), ("posterior", p)])
    info, images = dicom.read_nm(path, shape=SMALL)
    assert info.views == ("anterior", "posterior")
    np.testing.assert_array_equal(images[0].pixels, a)
    np.testing.assert_array_equal(images[1].pixels, p)
    # the order of the frames does not matter, the detector's view code does
    path2 = write(tmp_path / "wb2.dcm", [("posterior", p), ("anterior", a)])
    _, images2 = dicom.read_nm(path2, shape=SMALL)
    assert [im.view for im in images2] == ["posterior", "anterior"]
    np.testing.assert_array_equal(dicom.read_frame(path2, 1, shape=SMALL), a)


def test_written_file_carries_what_phantom_md_asks_for(tmp_path):
    path = write(tmp_path / "a.dcm", [("anterior", counts((1024, 256)))])
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == dicom.NM_IMAGE_STORAGE
    assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
    assert ds.BitsAllocated == 16 and ds.PixelRepresentation == 0
    assert (ds.Rows, ds.Columns) == (1024, 256) and float(ds.PixelSpacing[0]) == pytest.approx(2.4)
    assert [str(t) for t in ds.FrameIncrementPointer] == ["(0054,0010)", "(0054,0020)"]
    assert ds.DetectorInformationSequence[0].ViewCodeSequence[0].CodeValue == "399321004"


def test_same_inputs_give_byte_identical_files(tmp_path):
    a = counts()
    one = write(tmp_path / "x.dcm", [("anterior", a)]).read_bytes()
    (tmp_path / "x.dcm").unlink()
    two = write(tmp_path / "x.dcm", [("anterior", a)]).read_bytes()
    assert one == two


def test_signed_pixels_with_rescale_are_applied_and_negatives_clipped_with_a_note(tmp_path):
    raw = counts().astype(np.int16) - 45         # many negative stored values
    path = write(tmp_path / "s.dcm", [("anterior", raw)], signed=True, rescale=(2.0, 1.0))
    _, images = dicom.read_nm(path, shape=SMALL)
    expected = np.maximum(raw.astype(np.float32) * 2 + 1, 0)
    np.testing.assert_array_equal(images[0].pixels, expected)
    assert any("clipped to 0" in note for note in images[0].notes)


# ------------------------------------------------------------------------ compressed syntaxes
@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless], ids=["rle", "jpeg2000-lossless"])
def test_lossless_compressed_files_decode_to_the_same_pixels(tmp_path, syntax):
    a, p = counts(seed=3), counts(seed=4)
    ds = dicom.build_nm_dataset([("anterior", a), ("posterior", p)], PATIENT, uid_seed="c")
    ds.compress(syntax)
    path = save(ds, tmp_path / "c.dcm")
    info, images = dicom.read_nm(path, shape=SMALL)
    assert info.transfer_syntax == syntax
    np.testing.assert_array_equal(images[0].pixels, a)
    np.testing.assert_array_equal(images[1].pixels, p)


def test_jpeg_baseline_8bit_decodes_with_a_note(tmp_path):
    from PIL import Image

    a8 = (counts(lam=100.0) // 2).clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a8, mode="L").save(buf, format="JPEG", quality=95)
    ds = dicom.build_nm_dataset([("anterior", counts())], PATIENT, uid_seed="j")
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].VR = "OB"
    path = save(ds, tmp_path / "j.dcm")
    _, images = dicom.read_nm(path, shape=SMALL)
    assert np.abs(images[0].pixels - a8).mean() < 3       # lossy, but the same picture
    assert any("8-bit lossy JPEG" in n for n in images[0].notes)


def _pydicom_file(name: str) -> Path:
    path = PYDICOM_FILES / name
    if not path.exists():
        pytest.skip(f"{name} is not bundled with this pydicom")
    return path


def test_jpeg_extended_12bit_whole_body_nm_decodes(tmp_path):
    # NEMA WG04 NM1_JPLY: a real 1024 x 256 whole-body NM scan, JPEG extended 12-bit
    path = shutil.copy(_pydicom_file("JPGExtended.dcm"), tmp_path / "nema_ANT.dcm")
    info, images = dicom.read_nm(path)
    assert info.transfer_syntax == "1.2.840.10008.1.2.4.51"
    assert info.views == ("anterior",)           # no view code in this file: told by the file name
    assert images[0].pixels.shape == (1024, 256) and 200 < images[0].pixels.max() < 4096


def test_lossy_jpeg2000_ringing_is_clipped_at_zero_with_a_note(tmp_path):
    # NEMA WG04 NM1_J2KI: the same kind of scan as lossy JPEG 2000, signed, decodes below zero
    path = shutil.copy(_pydicom_file("JPEG2000.dcm"), tmp_path / "nema_POST.dcm")
    assert pydicom.dcmread(path).pixel_array.min() < 0
    _, images = dicom.read_nm(path)
    assert images[0].pixels.min() == 0
    assert any("clipped to 0" in n for n in images[0].notes)


def test_jpeg_ls_decodes(tmp_path):
    src = pydicom.dcmread(_pydicom_file("MR_small_jpeg_ls_lossless.dcm"))
    expected = src.pixel_array.astype(np.float32)
    ds = dicom.build_nm_dataset([("anterior", np.zeros((src.Rows, src.Columns), np.int16))], PATIENT,
                                uid_seed="ls", signed=True)
    ds.file_meta.TransferSyntaxUID = src.file_meta.TransferSyntaxUID
    ds.PixelData = src.PixelData
    ds["PixelData"].VR = "OB"
    path = save(ds, tmp_path / "ls.dcm")
    _, images = dicom.read_nm(path, shape=None)
    np.testing.assert_array_equal(images[0].pixels, np.maximum(expected, 0))


# --------------------------------------------------------------------------------- bad input
def test_non_dicom_file_is_named_in_the_error(tmp_path):
    path = tmp_path / "notes.dcm"
    path.write_text("this is not an image\n")
    with pytest.raises(DataError, match=r"notes\.dcm: not a DICOM file"):
        dicom.read_nm(path)


def test_truncated_file_is_reported(tmp_path):
    path = write(tmp_path / "t.dcm", [("anterior", counts((1024, 256)))])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"t\.dcm: .*(truncated|does not match)"):
        dicom.read_nm(path)


def test_ct_file_is_rejected(tmp_path):
    ds = dicom.build_nm_dataset([("anterior", counts())], PATIENT, uid_seed="ct")
    ds.Modality = "CT"
    path = save(ds, tmp_path / "ct.dcm")
    with pytest.raises(DataError, match=r"ct\.dcm: expected a nuclear-medicine \(NM\) image, got modality 'CT'"):
        dicom.read_nm(path, shape=SMALL)


def test_wrong_size_is_rejected(tmp_path):
    path = write(tmp_path / "small.dcm", [("anterior", counts())])
    with pytest.raises(DataError, match=r"small\.dcm: image is 64 x 32 .* expected 1024 x 256"):
        dicom.read_nm(path)


def test_8bit_native_file_is_rejected(tmp_path):
    ds = dicom.build_nm_dataset([("anterior", counts())], PATIENT, uid_seed="8")
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelData = counts().astype(np.uint8).tobytes()
    path = save(ds, tmp_path / "eight.dcm")
    with pytest.raises(DataError, match=r"eight\.dcm: 8-bit pixel data: expected 16-bit counts"):
        dicom.read_nm(path, shape=SMALL)


def test_transfer_syntax_without_any_decoder_is_reported(tmp_path):
    ds = dicom.build_nm_dataset([("anterior", counts())], PATIENT, uid_seed="xl")
    ds.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.4.100")    # MPEG2: pydicom has no decoder
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + bytes(64)])
    ds["PixelData"].VR = "OB"
    path = save(ds, tmp_path / "jxl.dcm")
    with pytest.raises(DataError, match=r"jxl\.dcm: no decoder exists for transfer syntax"):
        dicom.read_nm(path, shape=SMALL)


def test_decoder_plugin_not_installed_is_reported(tmp_path, monkeypatch):
    from pydicom.pixels.decoders import base

    ds = dicom.build_nm_dataset([("anterior", counts())], PATIENT, uid_seed="j2k")
    ds.compress(JPEG2000Lossless)
    path = save(ds, tmp_path / "j2k.dcm")
    monkeypatch.setattr(base.Decoder, "is_available", property(lambda self: False))
    with pytest.raises(DataError, match=r"j2k\.dcm: no decoder installed for JPEG 2000"):
        dicom.read_nm(path, shape=SMALL)


@pytest.mark.parametrize("damage", ["truncate", "overwrite"])
def test_corrupt_compressed_data_is_reported(tmp_path, damage):
    ds = dicom.build_nm_dataset([("anterior", counts())], PATIENT, uid_seed="bad")
    ds.compress(JPEG2000Lossless)
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    bad = frame[: len(frame) // 2] if damage == "truncate" else frame[:100] + b"\xff" * 200 + frame[300:]
    ds.PixelData = encapsulate([bad])
    path = save(ds, tmp_path / "broken.dcm")
    with pytest.raises(DataError, match=r"broken\.dcm: corrupt compressed pixel data \(JPEG 2000"):
        dicom.read_nm(path, shape=SMALL)


@pytest.mark.parametrize("how", ["same-view", "no-detector-vector", "same-detector"])
def test_two_frames_that_cannot_be_told_apart_are_rejected(tmp_path, how):
    ds = dicom.build_nm_dataset([("anterior", counts(seed=1)), ("posterior", counts(seed=2))], PATIENT,
                                uid_seed="mf")
    if how == "same-view":
        ds.DetectorInformationSequence[1].ViewCodeSequence[0].CodeValue = "399321004"
        ds.DetectorInformationSequence[1].ViewCodeSequence[0].CodeMeaning = "anterior projection"
    elif how == "no-detector-vector":
        del ds.DetectorVector
    else:
        ds.DetectorVector = [1, 1]
    path = save(ds, tmp_path / "twins.dcm")
    with pytest.raises(DataError, match=r"twins\.dcm: .*cannot be told apart"):
        dicom.read_nm(path, shape=SMALL)


def test_constant_image_is_rejected_before_it_divides_by_zero(tmp_path):
    path = write(tmp_path / "flat.dcm", [("anterior", np.full(SMALL, 7, np.uint16))])
    with pytest.raises(DataError, match=r"flat\.dcm: constant image .*divide by zero"):
        dicom.read_nm(path, shape=SMALL)


def test_a_single_frame_that_does_not_say_its_view_reads_as_unknown(tmp_path):
    ds = dicom.build_nm_dataset([("anterior", counts())], PATIENT, uid_seed="v")
    del ds.DetectorInformationSequence[0].ViewCodeSequence
    ds.SeriesDescription = "WB"
    ds.ImageID = "1"
    info = read_header(save(ds, tmp_path / "scan1.dcm"), shape=SMALL)
    assert (info.views, info.view_source) == (("unknown",), "")
    ds.SeriesDescription = "WB POST"
    info = read_header(save(ds, tmp_path / "scan2.dcm"), shape=SMALL)
    assert (info.views, info.view_source) == (("posterior",), dicom.VIEW_FROM_TEXT)
    ds.SeriesDescription = "WB"
    info = read_header(save(ds, tmp_path / "scan_ant.dcm"), shape=SMALL)
    assert (info.views, info.view_source) == (("anterior",), dicom.VIEW_FROM_NAME)
    written = read_header(write(tmp_path / "coded.dcm", [("posterior", counts())]), shape=SMALL)
    assert (written.views, written.view_source) == (("posterior",), dicom.VIEW_FROM_CODE)


def test_pydicoms_real_ge_scans_read_with_an_unknown_view_and_the_corrupt_one_is_named(tmp_path):
    # the real GE files as a PACS exports them: no view code, ImageID "WHOLE BODY_E", no ANT/POST anywhere
    for name in ("JPGExtended.dcm", "JPEG2000.dcm"):
        info, images = dicom.read_nm(shutil.copy(_pydicom_file(name), tmp_path / name))
        assert info.views == ("unknown",) and images[0].pixels.shape == (1024, 256)
        assert info.age is None and images[0].pixels.min() >= 0
    # JPEG-lossy.dcm: the same scan with a damaged JPEG stream (a misplaced marker segment)
    bad = shutil.copy(_pydicom_file("JPEG-lossy.dcm"), tmp_path / "JPEG-lossy.dcm")
    assert read_header(bad).views == ("unknown",)
    with pytest.raises(DataError, match=r"^JPEG-lossy\.dcm: corrupt compressed pixel data \(JPEG Extended"):
        dicom.read_nm(bad)


# ------------------------------------------------------------------------------- dciodvfy
def test_written_files_pass_dciodvfy(tmp_path):
    exe = shutil.which("dciodvfy")
    if exe is None:
        pytest.skip("dciodvfy (Debian package dicom3tools) is not installed; .ci/run installs it")
    files = [write(tmp_path / "one.dcm", [("anterior", counts((1024, 256)))]),
             write(tmp_path / "two.dcm", [("anterior", counts((1024, 256))), ("posterior", counts((1024, 256)))])]
    for path in files:
        out = subprocess.run([exe, str(path)], capture_output=True, text=True, check=False)
        report = out.stdout + out.stderr
        errors = [line for line in report.splitlines() if line.startswith("Error")]
        assert not errors, f"{path.name}:\n" + "\n".join(errors)
        assert "NMImage" in report        # it was validated against the NM Image IOD
