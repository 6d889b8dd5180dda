"""Writing the cohort: NM DICOM, a PNG rendering and a LabelMe file per view, the truth table, the marker.

The PNG (:mod:`..display`) is what LabelMe opens: each JSON's ``imagePath`` names it, so every
annotation written here loads in LabelMe as it is. The DICOM files hold the counts; the PNGs are not
read back (the cohort reader and its fingerprint skip them)."""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

from ...errors import DataError
from .. import dicom, display, labelme
from .acquisition import DEPTH_BINS_CM, MU_BONE, MU_WATER
from .lesions import ARTHRITIS_SITES, METASTASIS_SITES
from .plan import PHANTOM_VERSION, TRUTH_CSV, PatientPlan, PhantomConfig, plan_cohort
from .render import render_patient

SYNTHETIC_MARKER = "dspic_synthetic.json"   # written at the root of a synthetic cohort
# What a cohort folder holds besides the images' counts (the marker's "file_layout"): 1 = each JSON
# names its DICOM file (LabelMe cannot open it); 2 = a PNG per view beside the DICOM, named by its JSON.
FILE_LAYOUT = 2


def _study_date(cfg: PhantomConfig, plan: PatientPlan) -> str:
    day = dt.date(2018, 1, 1) + dt.timedelta(days=int((plan.index * 7919 + cfg.seed * 104729) % 365))
    return day.strftime("%Y%m%d")


def write_patient(plan: PatientPlan, cfg: PhantomConfig, out_dir: Path) -> dict:
    """Render one patient and write its DICOM and LabelMe files; returns its truth record."""
    ant, post, lesions, truth = render_patient(plan, cfg)
    folder = out_dir / plan.patient_id
    folder.mkdir(parents=True, exist_ok=True)
    info = dicom.PatientInfo(patient_id=plan.patient_id, name=f"SYNTHETIC^{plan.patient_id}", sex=plan.sex,
                             age=plan.age, study_date=_study_date(cfg, plan),
                             height_m=round(truth["height_cm"] / 100, 2))
    seed_str = f"dspic-phantom-v{PHANTOM_VERSION}-seed{cfg.seed}-{plan.patient_id}"
    views = {"anterior": ant, "posterior": post}
    if plan.multiframe:
        name = f"{plan.patient_id}_wholebody.dcm"
        dicom.write_nm(folder / name, [("anterior", ant), ("posterior", post)], info, uid_seed=seed_str,
                       pixel_spacing_mm=cfg.pixel_mm)
        for k, view in enumerate(dicom.VIEWS):
            _write_view(folder, name, views[view], lesions[view], view=view, frame=k, n_frames=2)
    else:
        for k, (view, img) in enumerate(views.items()):
            name = f"{plan.patient_id}_{view}.dcm"
            dicom.write_nm(folder / name, [(view, img)], info, uid_seed=seed_str, series_number=k + 1,
                           pixel_spacing_mm=cfg.pixel_mm)
            _write_view(folder, name, img, lesions[view], view=view, frame=0, n_frames=1)
    return {"patient": plan.patient_id, "label": plan.label, "sex": plan.sex, "age": plan.age, **truth}


def _write_view(folder: Path, dicom_name: str, counts, lesions, *, view: str, frame: int, n_frames: int) -> None:
    """The PNG rendering of one view and its LabelMe JSON (same stem), which names the PNG."""
    png = display.png_name(dicom_name, view, n_frames)
    display.write_png(folder / png, counts, source=display.source_text(dicom_name, frame, view, n_frames))
    rows, cols = counts.shape
    labelme.write_labelme(folder / Path(png).with_suffix(".json").name, lesions, image_path=png,
                          height=rows, width=cols)


def _write_chunk(args) -> list[dict]:
    plans, cfg, out_dir = args
    return [write_patient(p, cfg, Path(out_dir)) for p in plans]


def _write_all(plans: list[PatientPlan], cfg: PhantomConfig, folder: Path, workers: int, progress: bool) -> list:
    from tqdm import tqdm

    chunks = [plans[i:i + 8] for i in range(0, len(plans), 8)]
    records: list[dict] = []
    bar = tqdm(total=len(plans), desc="synthetic cohort", unit="patient", disable=not progress)
    if workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(workers) as pool:
            for recs in pool.map(_write_chunk, [(c, cfg, str(folder)) for c in chunks]):
                records.extend(recs)
                bar.update(len(recs))
    else:
        for c in chunks:
            recs = _write_chunk((c, cfg, str(folder)))
            records.extend(recs)
            bar.update(len(recs))
    bar.close()
    return records


def _marker(cfg: PhantomConfig, profile: str | None) -> dict:
    return {"generator": "dspic_lib.data.phantom", "version": PHANTOM_VERSION, "profile": profile,
            "seed": cfg.seed, "parameters": config_dict(cfg),
            "lesion_sites": {"metastasis": METASTASIS_SITES, "arthritis": ARTHRITIS_SITES},
            "physics": {"mu_water_per_cm": MU_WATER, "mu_bone_per_cm": MU_BONE,
                        "depth_bins_cm": list(DEPTH_BINS_CM), "collimator_fwhm_mm": "6 + 0.55 per cm of depth"},
            "n_patients": cfg.n_patients, "n_images": 2 * cfg.n_patients, "file_layout": FILE_LAYOUT,
            "note": "synthetic cohort: not patient data; identities, dates and UIDs are made up"}


def generate(out_dir: str | Path, cfg: PhantomConfig | None = None, *, profile: str | None = None,
             workers: int | None = None, progress: bool = True) -> Path:
    """Write the synthetic cohort into ``out_dir`` (created; must be empty or absent).

    Files are written to a temporary folder beside ``out_dir`` and renamed into place at the end, so a
    half-written cohort never looks complete, and two processes generating the same cohort at once both
    succeed: the one that renames second deletes its copy and uses the first one's (the same seed gives
    the same files); one that starts after the same cohort is finished returns it as it is. The marker
    file (:data:`SYNTHETIC_MARKER`) at the root records the generator's parameters."""
    cfg = cfg or PhantomConfig()
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        if read_marker(out_dir) == json.loads(json.dumps(_marker(cfg, profile))):
            return out_dir       # this very cohort, finished (by a process that started at the same time)
        raise DataError(f"{out_dir}: folder exists and is not empty; the phantom writes only into a new folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        records = _write_all(plan_cohort(cfg), cfg, tmp, workers, progress)
        _write_truth(tmp / TRUTH_CSV, records)
        (tmp / SYNTHETIC_MARKER).write_text(json.dumps(_marker(cfg, profile), indent=1, sort_keys=True) + "\n")
        # One rename moves the whole cohort into place (onto a missing or empty folder). When two
        # processes generate the same cohort at once, the first rename wins; the second finds the
        # folder full, checks that it holds a finished cohort (its marker) and uses it.
        try:
            os.replace(tmp, out_dir)
        except OSError as err:
            if read_marker(out_dir) is None:
                raise DataError(f"{out_dir}: could not move the generated cohort into place "
                                f"({err.strerror}); the folder holds something else") from None
            shutil.rmtree(tmp, ignore_errors=True)   # another process finished the same cohort first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _write_truth(path: Path, records: list[dict]) -> None:
    keys = list(records[0])
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, lineterminator="\n")
        w.writeheader()
        for rec in sorted(records, key=lambda r: r["patient"]):
            w.writerow({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in rec.items()})


def config_dict(cfg: PhantomConfig) -> dict:
    return asdict(cfg)


def marker_name() -> str:
    return SYNTHETIC_MARKER


def is_synthetic(data_dir: str | Path) -> bool:
    """Whether ``data_dir`` is a cohort written by the phantom (its marker file is there)."""
    return (Path(data_dir) / SYNTHETIC_MARKER).exists()


def read_marker(data_dir: str | Path) -> dict | None:
    """The phantom's marker of a synthetic cohort folder, or None (a user's folder)."""
    path = Path(data_dir) / SYNTHETIC_MARKER
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
