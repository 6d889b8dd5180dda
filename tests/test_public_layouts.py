"""The two public layouts (BS-80K, PNG folders) read into the cohort table, on fixtures written here in
exactly those layouts (real size, 1024 rows x 256 columns; nothing downloaded)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dspic_lib import cli
from dspic_lib.cli import data as cli_data
from dspic_lib.data import cohort as cohort_mod
from dspic_lib.data import public
from dspic_lib.data.cohort import folder_fingerprint, iter_pixels, load_pixels, scan
from dspic_lib.errors import ConfigError, DataError, DataWarning
from dspic_lib.pipeline import datasets
from dspic_lib.vocab import ABNORMAL, UNLABELLED

SHAPE = (1024, 256)


def body(seed: int, peak: float) -> np.ndarray:
    """A bright vertical band with noise: a different picture for every seed."""
    rng = np.random.default_rng(seed)
    cols = np.exp(-((np.arange(SHAPE[1]) - 128) / 40.0) ** 2)
    img = peak * (0.2 + 0.8 * cols)[None, :] * np.ones((SHAPE[0], 1)) * rng.uniform(0.7, 1.0, SHAPE)
    return img


def write_jpeg(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(body(seed, 250).astype(np.uint8), mode="L").save(path, format="JPEG", quality=95)


def voc(objects, width=256, height=1024) -> str:
    items = "".join(f"<object><name>{name}</name><pose>Unspecified</pose><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin>"
                    f"<xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>" for name, (x0, y0, x1, y1) in objects)
    return (f"<annotation><folder>ant</folder><filename>x.jpg</filename><size><width>{width}</width>"
            f"<height>{height}</height><depth>1</depth></size>{items}</annotation>")


@pytest.fixture
def bs80k(tmp_path) -> Path:
    """Three exams: 001 normal, 002 abnormal with boxes on the anterior view, 003 unlisted."""
    root = tmp_path / "BS-80K"
    for k, exam in enumerate(("001", "002", "003")):
        write_jpeg(root / "wholeBodyANT" / f"{exam}.jpg", 10 + k)
        write_jpeg(root / "wholeBodyPOST" / f"{exam}.jpg", 20 + k)
    (root / "wholeBodyANT.txt").write_text("001.jpg\t0\n002.jpg\t1\n")
    (root / "wholeBodyPOST.txt").write_text("001.jpg\t0\n002.jpg\t1\n")
    (root / "wholeBodyANT" / "ant").mkdir()
    (root / "wholeBodyANT" / "ant" / "002.xml").write_text(
        voc([("Abnormal", (101, 201, 120, 230)), ("Normal", (10, 10, 50, 50))]))
    return root


def test_bs80k_is_read_as_a_binary_cohort_with_abnormal_boxes(bs80k):
    c = scan(bs80k, layout="bs80k")
    t = c.table.set_index(["path"])
    assert c.task == "binary" and c.layout == "bs80k" and c.problems.empty and c.warnings.empty
    assert len(t) == 6 and t["patient"].nunique() == 3 and (t["task"] == "binary").all()
    assert all(sorted(v) == ["anterior", "posterior"] for _, v in t.groupby("patient")["view"])
    assert t.loc["wholeBodyANT/001.jpg", "label"] == "normal" and t.loc["wholeBodyPOST/002.jpg", "label"] == "abnormal"
    assert t.loc["wholeBodyANT/001.jpg", "label_source"] == "wholeBodyANT.txt"
    assert (t.loc[["wholeBodyANT/003.jpg", "wholeBodyPOST/003.jpg"], "label"] == UNLABELLED).all()
    # the Abnormal box is a lesion of kind "abnormal" in pixel-edge coordinates; the Normal box is not used
    lesions = t.loc["wholeBodyANT/002.jpg", "lesions"]
    assert [(x.disease, x.site, x.box) for x in lesions] == [(ABNORMAL, "unspecified", (100.0, 200.0, 120.0, 230.0))]
    assert t.loc["wholeBodyANT/002.jpg", "annotation"] == "wholeBodyANT/ant/002.xml"
    assert (t["n_metastasis"] == 0).all() and (t["n_arthritis"] == 0).all()          # never M or A
    assert set(t["label"]) == {"normal", "abnormal", UNLABELLED}
    summary = c.summary()
    assert list(summary.index) == ["normal", "abnormal", UNLABELLED, "total"]
    assert summary.loc["total", "images"] == 6 and summary.loc["abnormal", "patients"] == 1
    assert t["notes"].str.contains("8-bit picture").all()


def test_bs80k_pixels_fingerprint_and_the_refusal_of_d1(bs80k):
    c = scan(bs80k, layout="bs80k")
    row = c.table[c.table["path"] == "wholeBodyANT/001.jpg"].iloc[0]
    px = load_pixels(c, row)
    expected = np.asarray(Image.open(bs80k / "wholeBodyANT" / "001.jpg"), np.float32)
    np.testing.assert_array_equal(px, expected)
    assert px.shape == SHAPE and float(px.max()) == row["max_count"]
    assert len(dict(iter_pixels(c))) == 6
    assert c.fingerprint == folder_fingerprint(bs80k, layout="bs80k")
    (bs80k / "wholeBodyANT.txt").write_text("001.jpg\t1\n002.jpg\t1\n")
    assert folder_fingerprint(bs80k, layout="bs80k") != c.fingerprint      # the labels are part of it
    with pytest.warns(DataWarning, match="2 of 6 images have no label"):      # exam 003 is not listed
        assert sorted(c.table["path"].iloc[datasets.trainable_rows(c)].str[-7:-4]) == ["001", "001", "002", "002"]


def test_bs80k_problems_name_their_file_and_the_rest_is_read(bs80k):
    (bs80k / "wholeBodyPOST" / "003.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (bs80k / "wholeBodyANT.txt").write_text("file\tlabel\n001.jpg\t0\n002.jpg\tyes\n")
    (bs80k / "wholeBodyPOST" / "post").mkdir()
    (bs80k / "wholeBodyPOST" / "post" / "001.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "boom">]><annotation>&e;</annotation>')
    (bs80k / "wholeBodyANT" / "ant" / "001.xml").write_text(voc([("Tumour", (1, 1, 5, 5))]))
    c = scan(bs80k, layout="bs80k")
    problems = dict(zip(c.problems["file"], c.problems["problem"]))
    assert problems["wholeBodyPOST/003.jpg"].startswith("corrupt or truncated picture (OSError")
    assert problems["wholeBodyANT.txt"] == "line 3: expected '<file><TAB><0 or 1>', got '002.jpg\\tyes'"
    assert problems["wholeBodyPOST/post/001.xml"] == "declares a DTD or entities: refused (a VOC annotation has none)"
    assert problems["wholeBodyANT/ant/001.xml"] == "object 0: object name 'Tumour'; expected Abnormal or Normal"
    # the images with a bad annotation are left out, everything else is read
    assert sorted(c.table["path"]) == ["wholeBodyANT/002.jpg", "wholeBodyANT/003.jpg", "wholeBodyPOST/002.jpg"]
    assert c.table.set_index("path").loc["wholeBodyANT/002.jpg", "label"] == "abnormal"     # from its boxes


def test_bs80k_boxes_outside_the_image_and_disagreements(bs80k):
    xml = bs80k / "wholeBodyANT" / "ant" / "001.xml"
    xml.write_text(voc([("Abnormal", (250, 1000, 300, 1024))]))
    c = scan(bs80k, layout="bs80k")
    assert "lies outside the 1024 x 256 image" in dict(zip(c.problems["file"], c.problems["problem"]))[
        "wholeBodyANT/ant/001.xml"]
    xml.write_text(voc([("abnormal", (1, 1, 9, 9))]))
    c = scan(bs80k, layout="bs80k")
    assert c.problems.empty
    assert c.warnings.to_dict("records") == [{"file": "wholeBodyANT/ant/001.xml", "warning":
                                              "1 Abnormal box(es) on a picture wholeBodyANT.txt calls normal; "
                                              "the label is used"}]
    assert c.table.set_index("path").loc["wholeBodyANT/001.jpg", "label"] == "normal"


def test_an_exact_copy_in_bs80k_is_dropped(bs80k):
    (bs80k / "wholeBodyANT" / "copy.jpg").write_bytes((bs80k / "wholeBodyANT" / "001.jpg").read_bytes())
    c = scan(bs80k, layout="bs80k")
    assert "wholeBodyANT/copy.jpg" in set(c.table["path"])       # another id: another patient, kept
    assert sorted(c.warnings["warning"]) == ["same pixels as wholeBodyANT/001.jpg of another patient: kept",
                                             "same pixels as wholeBodyANT/copy.jpg of another patient: kept"]
    (bs80k / "wholeBodyANT" / "001.jpeg").write_bytes((bs80k / "wholeBodyANT" / "001.jpg").read_bytes())
    c = scan(bs80k, layout="bs80k")                              # same id, same view, same pixels
    assert "wholeBodyANT/001.jpeg" in set(c.table["path"]) and "wholeBodyANT/001.jpg" not in set(c.table["path"])
    assert c.warnings.to_dict("records")[0] == {"file": "wholeBodyANT/001.jpg", "warning":
                                                "same patient and same pixels as wholeBodyANT/001.jpeg: dropped as "
                                                "an exact copy"}


# ------------------------------------------------------------------------------------- PNG folders
def write_png16(path: Path, seed: int) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = body(seed, 3000).astype(np.uint16)
    Image.fromarray(img).save(path, format="PNG")
    return img


@pytest.fixture
def pngs(tmp_path) -> Path:
    root = tmp_path / "png"
    for k, (cls, n) in enumerate([("Metastasis_Yes", 1), ("Metastasis_Yes", 2), ("Metastasis_No", 1)]):
        write_png16(root / cls / "Anterior" / f"A{n}.png", 2 * k)
        write_png16(root / cls / "Posterior" / f"P{n}.png", 2 * k + 1)
    (root / "LICENSE.txt").write_text("CC-BY-4.0\n")
    return root


def test_png_folders_are_read_as_a_binary_cohort_with_16_bit_counts(pngs):
    c = scan(pngs, layout="png-folders")
    t = c.table
    assert c.task == "binary" and c.problems.empty and c.warnings.empty
    assert len(t) == 6 and t["patient"].nunique() == 3 and t.groupby("patient").size().eq(2).all()
    by_path = t.set_index("path")
    assert by_path.loc["Metastasis_Yes/Anterior/A2.png", "label"] == "abnormal"
    assert by_path.loc["Metastasis_No/Posterior/P1.png", "label"] == "normal"
    assert (t["label_source"] == "folder name").all() and (t["n_lesions"] == 0).all()
    # the two patients numbered 1 in different class folders are different patients
    assert by_path.loc["Metastasis_Yes/Anterior/A1.png", "patient"] != by_path.loc["Metastasis_No/Anterior/A1.png", "patient"]
    assert by_path.loc["Metastasis_Yes/Anterior/A1.png", "patient"] == by_path.loc["Metastasis_Yes/Posterior/P1.png", "patient"]
    px = load_pixels(c, t[t["path"] == "Metastasis_No/Anterior/A1.png"].iloc[0])
    np.testing.assert_array_equal(px, body(4, 3000).astype(np.uint16).astype(np.float32))
    assert px.max() > 255 and t["notes"].eq("").all()                  # 16-bit, not quantized
    assert c.fingerprint == folder_fingerprint(pngs, layout="png-folders")


def test_png_folders_unknown_class_folder_and_misnamed_files_are_problems(pngs):
    write_png16(pngs / "Maybe" / "Anterior" / "A1.png", 9)
    write_png16(pngs / "Metastasis_No" / "Anterior" / "P7.png", 10)
    write_png16(pngs / "Metastasis_No" / "Lateral" / "L1.png", 11)
    (pngs / "Metastasis_No" / "Posterior" / "P3.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    c = scan(pngs, layout="png-folders")
    problems = dict(zip(c.problems["file"], c.problems["problem"]))
    assert problems["Maybe"].startswith("class folder 'Maybe' is not a known name for normal")
    assert problems["Metastasis_No/Anterior/P7.png"] == "expected A<number>.png in Anterior/ (left out)"
    assert problems["Metastasis_No/Lateral"] == "neither an Anterior/ nor a Posterior/ folder (left out)"
    assert problems["Metastasis_No/Posterior/P3.png"] == "not a readable JPEG or PNG picture"
    assert len(c.table) == 6                                           # the good images are all there


@pytest.mark.parametrize("name, expected", [
    ("Normal", "normal"), ("Abnormal", "abnormal"), ("Metastasis_No", "normal"), ("metastasis yes", "abnormal"),
    ("NoMetastasis", "normal"), ("non-metastatic", "normal"), ("Nonmetastatic", "normal"), ("Negative", "normal"),
    ("Positive", "abnormal"), ("with_metastases", "abnormal"), ("metastasis-free", "normal"), ("Mets", "abnormal"),
    ("bone scans", None), ("0", None), ("Maybe", None)])
def test_folder_names_map_to_normal_or_abnormal(name, expected):
    assert public.folder_class(name) == expected


# ------------------------------------------------------------------------------------- the CLI
def test_cli_scans_a_public_layout_and_says_it_is_binary(bs80k, pngs, capsys):
    assert cli.main(["data", "scan", "--layout", "bs80k", str(bs80k)]) == 0
    out = capsys.readouterr().out
    assert "layout bs80k, 6 images of 3 patients" in out
    assert "task: binary (normal / abnormal), not the paper's classes N, M, A, M&A" in out
    assert "2 images unlabelled" in out and "no problems" in out
    assert cli.main(["data", "scan", "--layout", "png-folders", str(pngs)]) == 0
    assert "task: binary" in capsys.readouterr().out
    assert cli.main(["data", "scan", "--layout", "bs80k", "--view", "anterior", str(bs80k)]) == 1
    assert "a view can only be given for the dicom layout" in capsys.readouterr().err


def test_a_public_folder_scanned_as_dicom_gets_a_hint(bs80k, pngs):
    with pytest.raises(DataError, match=r"no DICOM files .* looks like the bs80k layout \(dspic data scan --layout bs80k\)"):
        scan(bs80k)
    with pytest.raises(DataError, match="looks like the png-folders layout"):
        scan(pngs)
    with pytest.raises(DataError, match="not a BS-80K folder"):
        scan(pngs, layout="bs80k")
    with pytest.raises(ConfigError, match="unknown layout 'voc'"):
        scan(pngs, layout="voc")


def test_the_cli_lists_every_layout_of_the_scanner():
    assert cli_data.LAYOUT_CHOICES == cohort_mod.LAYOUTS


def test_an_rgb_grey_picture_is_read_and_a_colour_one_refused(tmp_path):
    from dspic_lib.data.pictures import read_picture

    grey = body(1, 200).astype(np.uint8)
    Image.fromarray(np.stack([grey] * 3, axis=-1), mode="RGB").save(tmp_path / "g.png")
    px, notes = read_picture(tmp_path / "g.png", shape=SHAPE)
    np.testing.assert_array_equal(px, grey)
    assert "grey picture stored as RGB" in notes[0]
    colour = np.stack([grey, grey // 2, grey], axis=-1)
    buf = io.BytesIO()
    Image.fromarray(colour, mode="RGB").save(buf, format="PNG")
    (tmp_path / "c.png").write_bytes(buf.getvalue())
    with pytest.raises(DataError, match=r"^c\.png: colour picture"):
        read_picture(tmp_path / "c.png")
    with pytest.raises(DataError, match=r"^g\.png: image is 1024 x 256 .* expected 64 x 16"):
        read_picture(tmp_path / "g.png", shape=(64, 16))
