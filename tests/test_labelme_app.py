"""What LabelMe itself (the real ``labelme`` package, not a re-implementation) makes of our files.

LabelMe opens pictures, not DICOM: every annotation the project writes names a PNG rendering of its
view, which ``labelme.LabelFile`` loads; a JSON that LabelMe saves on such a PNG (or on a scaled copy
of it) reads back into the cohort with its boxes in DICOM pixel coordinates (issue 17)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import GE_SCANS, copy_pydicom
from PIL import Image

from dspic_lib import cli
from dspic_lib.cli import data as cli_data
from dspic_lib.data import display, phantom
from dspic_lib.data.cohort import scan
from dspic_lib.data.export_png import export_png


@pytest.fixture(scope="module")
def labelme():
    try:
        import labelme
    except ImportError as err:   # the test extra pins it: `make install-test`
        pytest.fail(f"the labelme package of the test extra is not installed ({err}); run make install-test")
    return labelme


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory) -> Path:
    """A small cohort written by `dspic data synth` (8 patients: single- and two-frame files)."""
    out = tmp_path_factory.mktemp("synth") / "syn"
    assert cli.main(["data", "synth", "--profile", "smoke", "--n-patients", "8", "--out", str(out),
                     "--workers", "1"]) == 0
    return out


def test_every_annotation_the_project_writes_loads_in_labelme(labelme, cohort_dir):
    jsons = sorted(cohort_dir.rglob("*.json"))
    jsons = [p for p in jsons if p.name != phantom.marker_name()]
    assert len(jsons) == 16 and any("wholebody" in p.name for p in jsons)
    cohort = scan(cohort_dir)
    assert cohort.problems.empty
    by_annotation = {row.annotation: row for row in cohort.table.itertuples()}
    for path in jsons:
        lf = labelme.LabelFile(str(path))          # raises LabelFileReadError on 'cannot identify image'
        assert lf.image_path == path.with_suffix(".png").name
        with Image.open(path.with_suffix(".png")) as img:
            assert img.mode == "L" and img.size == (256, 1024)
            assert img.text["Window"].startswith("0 to ") and "99.5th percentile" in img.text["Window"]
        row = by_annotation[path.relative_to(cohort_dir).as_posix()]
        # LabelMe sees the shapes the cohort reader sees, at the same pixel coordinates
        assert [s["label"] for s in lf.shapes] == [les.label for les in row.lesions]
        assert [[tuple(p) for p in s["points"]] for s in lf.shapes] == [list(les.points) for les in row.lesions]


def _labelme_shape(label, points, kind):
    """A shape as LabelMe's app writes it (app._shape_to_dict)."""
    return {"label": label, "points": [(float(x), float(y)) for x, y in points], "group_id": None,
            "description": "", "shape_type": kind, "flags": {}, "mask": None}


def _ge_folder(tmp_path) -> Path:
    return copy_pydicom(GE_SCANS, tmp_path / "pacs")


def test_a_json_labelme_saves_on_an_exported_png_reads_back_with_the_same_boxes(labelme, tmp_path):
    folder = _ge_folder(tmp_path)
    before = scan(folder)
    done = export_png(folder)
    assert sorted(done.written) == ["JPEG2000.png", "JPGExtended.png"] and not done.updated and not done.problems
    png = folder / "JPGExtended.png"
    assert scan(folder).fingerprint == before.fingerprint        # PNGs are no part of the data
    rect = ((101.25, 400.5), (88.0, 380.0))                     # dragged from bottom-right to top-left
    poly = ((120.0, 900.0), (140.5, 905.0), (131.0, 921.75))
    lf = labelme.LabelFile()
    lf.save(str(folder / "JPGExtended.json"),
            shapes=[_labelme_shape("metastasis:rib", rect, "rectangle"),
                    _labelme_shape("arthritis:knee", poly, "polygon")],
            image_path=png.name, image_height=1024, image_width=256,
            image_data=labelme.LabelFile.load_image_file(str(png)))      # LabelMe keeps the picture too
    assert labelme.LabelFile(str(folder / "JPGExtended.json")).image_path == "JPGExtended.png"
    c = scan(folder)
    assert c.problems.empty
    row = c.table.set_index("path").loc["JPGExtended.dcm"]
    assert row["label"] == "M&A" and row["annotation"] == "JPGExtended.json"
    assert [les.box for les in row["lesions"]] == [(88.0, 380.0, 101.25, 400.5), (120.0, 900.0, 140.5, 921.75)]
    assert c.table.set_index("path").loc["JPEG2000.dcm", "label"] == "unlabelled"


def test_a_json_saved_on_a_scaled_png_is_read_in_dicom_pixels(labelme, tmp_path):
    folder = _ge_folder(tmp_path)
    export_png(folder)
    small = folder / "JPEG2000.png"
    with Image.open(small) as img:
        img.resize((128, 512)).save(small)                      # someone's half-size copy
    labelme.LabelFile().save(str(folder / "JPEG2000.json"),
                             shapes=[_labelme_shape("metastasis:spine", ((60, 200), (70, 215.5)), "rectangle")],
                             image_path=small.name, image_height=512, image_width=128)
    assert labelme.LabelFile(str(folder / "JPEG2000.json")).shapes[0]["points"] == [[60, 200], [70, 215.5]]
    row = scan(folder).table.set_index("path").loc["JPEG2000.dcm"]
    assert row["lesions"][0].box == (120.0, 400.0, 140.0, 431.0)
    # export-png leaves a picture it did not write alone, so the JSON keeps matching it
    done = export_png(folder)
    assert ("JPEG2000.png", "a picture this project did not write: left alone") in done.skipped
    with Image.open(small) as img:
        assert img.size == (128, 512)


def test_export_png_points_the_json_of_a_two_frame_file_at_its_view_and_loads_in_labelme(labelme, cohort_dir,
                                                                                          tmp_path):
    """A folder annotated before the PNGs (each JSON names the DICOM file): export-png writes the PNGs
    the generator writes and points each JSON at its view's PNG, without moving a shape."""
    folder = tmp_path / "old"
    shutil.copytree(cohort_dir, folder)
    for png in folder.rglob("*.png"):
        png.unlink()
    for path in folder.rglob("SYN*.json"):
        doc = json.loads(path.read_text())
        dcm = path.name.replace("_anterior", "").replace("_posterior", "") if "wholebody" in path.name \
            else path.with_suffix(".dcm").name
        path.write_text(json.dumps({**doc, "imagePath": dcm.replace(".json", ".dcm")}, indent=1) + "\n")
    with pytest.raises(labelme._label_file.LabelFileError, match="cannot identify image file"):
        labelme.LabelFile(str(folder / "SYN0004" / "SYN0004_wholebody_anterior.json"))
    before = scan(folder)
    assert cli.main(["data", "export-png", str(folder)]) == 0
    assert scan(folder).table["lesions"].tolist() == before.table["lesions"].tolist()
    for path in sorted(cohort_dir.rglob("SYN*.*")):            # the same bytes as the generator's
        if path.suffix in (".png", ".json"):
            assert (folder / path.relative_to(cohort_dir)).read_bytes() == path.read_bytes(), path.name
    lf = labelme.LabelFile(str(folder / "SYN0004" / "SYN0004_wholebody_anterior.json"))
    assert lf.image_path == "SYN0004_wholebody_anterior.png"
    with Image.open(folder / "SYN0004" / "SYN0004_wholebody_posterior.png") as img:
        assert img.text["Source"] == "SYN0004_wholebody.dcm, frame 1 (posterior)"


def test_the_rendering_is_the_stated_window():
    counts = np.zeros((8, 4))
    counts[1:, :] = np.arange(1, 29).reshape(7, 4)
    grey, top = display.grey_levels(counts)
    assert top == pytest.approx(np.percentile(np.arange(1, 29), 99.5))
    assert grey[0, 0] == 255 and grey[-1, -1] == 0 and grey.dtype == np.uint8
    assert (np.diff(grey[1:].ravel().astype(int)) <= 0).all()            # hotter is darker
    assert display.grey_levels(np.zeros((4, 4)))[0].min() == 255          # an empty image is white
    # the help says what the module does
    assert "99.5th percentile" in cli_data.WINDOW_HELP and "inverted grey" in display.WINDOW
    assert f"{display.WINDOW_PERCENTILE:g}th percentile" in cli_data.WINDOW_HELP


def test_export_png_help_states_the_window(capsys):
    with pytest.raises(SystemExit):
        cli.main(["data", "export-png", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "the 99.5th percentile of the view's positive counts" in out and "Window" in out


def test_a_default_cohort_of_the_older_file_layout_is_written_again(tmp_path, monkeypatch):
    """Cohorts written before the PNGs (marker without file_layout) are regenerated on next use:
    same DICOM bytes, JSONs that LabelMe opens."""
    from dspic_lib.config import get_profile
    from dspic_lib.pipeline.datadir import ensure_cohort

    monkeypatch.setenv("DSPIC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DSPIC_DATA", raising=False)
    prof = get_profile("smoke", n_patients=2)
    folder = ensure_cohort(prof, progress=False)
    dcm = (folder / "SYN0001" / "SYN0001_anterior.dcm").read_bytes()
    marker = folder / phantom.marker_name()
    old = json.loads(marker.read_text())
    assert old.pop("file_layout") == phantom.FILE_LAYOUT == 2
    marker.write_text(json.dumps(old))
    for png in folder.rglob("*.png"):
        png.unlink()
    assert ensure_cohort(prof, progress=False) == folder
    assert phantom.read_marker(folder)["file_layout"] == 2 and len(list(folder.rglob("*.png"))) == 4
    assert (folder / "SYN0001" / "SYN0001_anterior.dcm").read_bytes() == dcm
