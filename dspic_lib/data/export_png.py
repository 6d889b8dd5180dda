"""``dspic data export-png DIR``: a PNG of each view beside its DICOM file, for LabelMe.

LabelMe opens pictures, not DICOM. This writes the rendering of :mod:`.display` beside each DICOM file
the cohort reader accepts (``X.png`` for ``X.dcm``, ``Y_anterior.png`` / ``Y_posterior.png`` for a
two-frame ``Y.dcm``; an existing annotation's stem wins), and points the LabelMe JSONs that name the
DICOM file at it, so LabelMe opens each annotation with its picture and saves new ones beside it, in
DICOM pixel coordinates. A PNG of the same name that this project did not write is left alone.

This is the one command that writes into a data folder. What it writes is never read back as counts:
the cohort reader and its fingerprint skip PNG files in the DICOM layout. The synthetic cohort comes
with these PNGs already (:mod:`.phantom.writer`); on it this command rewrites the same bytes.
"""
from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from . import dicom, display
from .cohort import iter_pixels, scan
from .labelme import PICTURE_SUFFIXES


@dataclass
class Export:
    data_dir: Path
    written: list[str] = field(default_factory=list)          # PNGs written (relative paths)
    updated: list[str] = field(default_factory=list)          # JSONs pointed at their PNG
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (file, why) left alone
    problems: list[tuple[str, str]] = field(default_factory=list)  # the scan's: no PNG for these


def _names_the_dicom(image_path: str, dicom_name: str) -> bool:
    named = Path(image_path.replace("\\", "/")).name
    return not named or (Path(named).suffix.lower() not in PICTURE_SUFFIXES
                         and (named == dicom_name or Path(named).stem == Path(dicom_name).stem))


def _point_at_png(json_path: Path, doc: dict, png: str, rows: int, cols: int) -> None:
    """Let a JSON that names the DICOM file (or nothing) name its PNG instead. Its points stay as they
    are: the PNG has the DICOM's size, so DICOM pixels are PNG pixels."""
    doc.update(imagePath=png, imageHeight=int(rows), imageWidth=int(cols))
    tmp = json_path.with_name(f".{json_path.name}.tmp-{uuid.uuid4().hex}")
    try:
        tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, json_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def export_png(data_dir: str | Path, *, shape=dicom.WHOLE_BODY_SHAPE, view: str | None = None,
               progress: bool = False) -> Export:
    """Write the PNG of every view the reader accepts under ``data_dir`` (see the module's text).

    ``shape`` and ``view`` are :func:`~dspic_lib.data.cohort.scan`'s. Files the scan leaves out (its
    problems) get no PNG; they are returned in ``problems``."""
    cohort = scan(data_dir, shape=shape, progress=progress, view=view)
    data_dir = cohort.data_dir
    out = Export(data_dir=data_dir, problems=[tuple(r) for r in cohort.problems.itertuples(index=False)])
    t = cohort.table
    n_frames = t.groupby("path")["frame"].max().add(1).to_dict()
    for i, counts in iter_pixels(cohort, progress=progress, desc="rendering"):
        rel, frame, view_i, ann = (str(t["path"].iat[i]), int(t["frame"].iat[i]), str(t["view"].iat[i]),
                                   str(t["annotation"].iat[i]))
        image = data_dir / rel
        png = display.png_name(image.name, view_i, n_frames[rel], Path(ann).name if ann else None)
        target = image.with_name(png)
        png_rel = Path(rel).with_name(png).as_posix()
        if target.exists() and not display.written_by_us(target):
            out.skipped.append((png_rel, "a picture this project did not write: left alone"))
            continue
        display.write_png(target, counts, source=display.source_text(image.name, frame, view_i, n_frames[rel]))
        out.written.append(png_rel)
        if ann:
            json_path = data_dir / ann
            doc = json.loads(json_path.read_text(encoding="utf-8"))   # the scan read it: valid
            named = Path((doc.get("imagePath") or "").replace("\\", "/")).name
            if _names_the_dicom(named, image.name):
                _point_at_png(json_path, doc, png, *counts.shape)
                out.updated.append(ann)
            elif named != png:
                out.skipped.append((ann, f"names {named!r}, not {png!r} nor the DICOM file: left as it is"))
    return out
