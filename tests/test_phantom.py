"""The synthetic cohort: counts, determinism, physics of the views, boxes, DICOM validity."""
from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dspic_lib.config import get_profile
from dspic_lib.data import phantom
from dspic_lib.data.cohort import scan


def test_full_cohort_plan_matches_the_paper_exactly():
    plans = phantom.plan_cohort(phantom.PhantomConfig(n_patients=384))
    labels = [p.label for p in plans]
    images = {c: 2 * labels.count(c) for c in ("N", "M", "A", "M&A")}
    assert images == {"N": 334, "M": 174, "A": 252, "M&A": 8}
    assert sum(p.sex == "F" for p in plans) == 181 and sum(p.sex == "M" for p in plans) == 203
    ages = np.array([p.age for p in plans])
    assert 28 <= ages.min() and ages.max() <= 90 and 55 < ages.mean() < 65
    assert sum(p.multiframe for p in plans) == 96


def test_smoke_cohort_has_every_class_and_is_deterministic():
    n = get_profile("smoke", use_env=False).n_patients
    counts = phantom.scaled_counts(n, phantom.PAPER_PATIENT_CLASSES)
    assert counts == {"N": 10, "M": 5, "A": 8, "M&A": 1}
    assert [p.label for p in phantom.plan_cohort(phantom.PhantomConfig(n_patients=n))] == \
           [p.label for p in phantom.plan_cohort(phantom.PhantomConfig(n_patients=n))]


@pytest.mark.parametrize("n", [4, 7, 24, 100, 384, 1000])
def test_scaled_counts_sum_up_and_keep_every_class(n):
    counts = phantom.scaled_counts(n, phantom.PAPER_PATIENT_CLASSES)
    assert sum(counts.values()) == n and min(counts.values()) >= 1


def test_same_seed_gives_byte_identical_files_whatever_the_number_of_workers(tmp_path):
    cfg = phantom.PhantomConfig(n_patients=4, seed=11)
    a = phantom.generate(tmp_path / "a", cfg, workers=1, progress=False)
    b = phantom.generate(tmp_path / "b", cfg, workers=2, progress=False)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    # 3 x (2 dcm + 2 png + 2 json), 1 x (1 dcm + 2 png + 2 json), marker, truth
    assert files_a == files_b and len(files_a) == 3 * 6 + 1 * 5 + 2
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    c = phantom.generate(tmp_path / "c", phantom.PhantomConfig(n_patients=4, seed=12), workers=1, progress=False)
    assert (a / "SYN0001/SYN0001_anterior.dcm").read_bytes() != (c / "SYN0001/SYN0001_anterior.dcm").read_bytes()


def test_counts_are_about_1_5_million_per_view_and_images_are_16_bit():
    cfg = phantom.PhantomConfig(n_patients=8, seed=0)
    for plan in phantom.plan_cohort(cfg)[:4]:
        ant, post, _, _ = phantom.render_patient(plan, cfg)
        for img in (ant, post):
            assert img.dtype == np.uint16 and img.shape == (1024, 256)
            assert 0.6e6 < img.sum() < 4e6


def test_depth_makes_front_structures_brighter_in_front_and_back_structures_behind():
    cv = phantom.Canvas(256, 64, 2.4)
    cv.ellipse((60, 20), 4, 4, 0, 10.0, 0.1, 20.0)    # near the front (like the sternum), patient's right
    cv.ellipse((180, 20), 4, 4, 0, 10.0, 0.9, 20.0)   # near the back (like the spine)
    ant, post = cv.project(0.24)
    assert ant[40:80].sum() > 5 * post[40:80].sum()
    assert post[160:200].sum() > 5 * ant[160:200].sum()
    # seen from behind, the patient's right is on the image's right
    assert ant[:, :32].sum() > 0.99 * ant.sum() and post[:, 32:].sum() > 0.99 * post.sum()
    # and farther from the detector means more blur
    assert ant[55:66, 15:26].max() / ant[55:66, 15:26].sum() > post[55:66, 38:49].max() / post[55:66, 38:49].sum()


def test_spine_is_brighter_behind_and_knees_in_front_for_whole_patients():
    cfg = phantom.PhantomConfig(n_patients=24, seed=0)
    for plan in [p for p in phantom.plan_cohort(cfg) if p.label == "N"][:3]:
        ant, post, lesions, _ = phantom.render_patient(plan, cfg)
        assert lesions == {"anterior": [], "posterior": []}
        ant, post = ant.astype(float), post[:, ::-1].astype(float)    # posterior back in the anterior frame
        ant, post = ant / ant.sum(), post / post.sum()
        rows = np.flatnonzero(ant.sum(1) > 1e-4)
        top, height = rows[0], rows[-1] - rows[0]
        mid = int(round((ant.sum(0) * np.arange(256)).sum()))

        def window(img, y0, y1, half):
            return img[top + int(y0 * height): top + int(y1 * height), mid - half: mid + half + 1].sum()

        def side(img):     # the same window beside the spine, over trunk soft tissue
            return sum(img[top + int(0.30 * height): top + int(0.42 * height), c - 4: c + 5].sum()
                       for c in (mid - 18, mid + 18)) / 2

        def spine(img):    # the spine's excess over the trunk beside it (v7 soft tissue is alike in both views)
            return window(img, 0.30, 0.42, 4) - side(img)

        assert spine(post) > 1.8 * spine(ant)                                      # lower thoracic + lumbar spine
        def knees(img):    # over the thighs just above (mid-depth femora and soft tissue, alike in both views)
            return window(img, 0.70, 0.74, 40) - window(img, 0.62, 0.66, 40)

        assert knees(ant) > 1.15 * knees(post)                                    # knees (patellae)
        assert window(ant, 0.02, 0.12, 25) > 0.03                                 # a skull is there
        assert 600 < height < 870          # 1.40-1.95 m at the GE pixel of 2.26 mm (v6: 2.4 mm)


def test_lesion_boxes_lie_in_the_image_and_mirror_between_views():
    cfg = phantom.PhantomConfig(n_patients=24, seed=0)
    sick = [p for p in phantom.plan_cohort(cfg) if p.label != "N"][:4]
    for plan in sick:
        ant, post, lesions, _ = phantom.render_patient(plan, cfg)
        assert len(lesions["anterior"]) == len(lesions["posterior"]) > 0
        for la, lp in zip(lesions["anterior"], lesions["posterior"]):
            assert (la.disease, la.site, la.shape_type) == (lp.disease, lp.site, lp.shape_type)
            x0, y0, x1, y1 = la.box
            assert 0 <= x0 < x1 <= 256 and 0 <= y0 < y1 <= 1024
            assert lp.box[1] == y0 and lp.box[3] == y1
            if 2 < x0 and x1 < 254:
                assert math.isclose(lp.box[0], 256 - x1, abs_tol=0.02)
            # a metastasis is a hot spot: its box holds more counts than the same box in a mirrored spot
            if la.disease == "metastasis" and la.site in ("vertebra", "pelvis", "femur", "rib"):
                inside = ant[int(y0):int(y1) + 1, int(x0):int(x1) + 1].mean() + \
                    post[int(y0):int(y1) + 1, int(256 - x1):int(256 - x0) + 1].mean()
                assert inside > 0


def test_generated_files_pass_dciodvfy(tmp_path):
    exe = shutil.which("dciodvfy")
    if exe is None:
        pytest.skip("dciodvfy (Debian package dicom3tools) is not installed; .ci/run installs it")
    out = phantom.generate(tmp_path / "c", phantom.PhantomConfig(n_patients=4, seed=1), workers=1, progress=False)
    files = sorted(out.rglob("*.dcm"))
    assert any("wholebody" in f.name for f in files) and len(files) == 7
    for path in files:
        report = subprocess.run([exe, str(path)], capture_output=True, text=True, check=False)
        errors = [line for line in (report.stdout + report.stderr).splitlines() if line.startswith("Error")]
        assert not errors, f"{path.name}:\n" + "\n".join(errors)


def test_marker_records_the_generator_and_the_table_reads_back(tmp_path):
    out = phantom.generate(tmp_path / "c", phantom.PhantomConfig(n_patients=4, seed=2), profile="smoke",
                           workers=1, progress=False)
    marker = phantom.read_marker(out)
    assert marker["version"] == phantom.PHANTOM_VERSION and marker["seed"] == 2 and marker["profile"] == "smoke"
    assert marker["parameters"]["difficulty"] == phantom.DEFAULT_DIFFICULTY
    table = scan(out).table
    assert (table.groupby("patient")["label"].nunique() == 1).all()     # both views share the class
    assert Path(out / phantom.TRUTH_CSV).exists()


def test_difficulty_knob_changes_lesions_not_anatomy():
    easy = phantom.PhantomConfig(n_patients=24, seed=0, difficulty=0.0)
    hard = phantom.PhantomConfig(n_patients=24, seed=0, difficulty=1.0)
    plan = next(p for p in phantom.plan_cohort(easy) if p.label == "M")
    _, _, les_easy, truth_easy = phantom.render_patient(plan, easy)
    _, _, les_hard, truth_hard = phantom.render_patient(plan, hard)
    assert truth_easy["height_cm"] == truth_hard["height_cm"] and truth_easy["bladder"] == truth_hard["bladder"]
    box = les_easy["anterior"][0].box
    assert les_hard["anterior"][0].box == box                     # same first lesion, same place
    with pytest.raises(phantom.DataError):
        phantom.PhantomConfig(difficulty=1.5)
