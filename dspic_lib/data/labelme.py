"""LabelMe annotations of whole-body scans: one shape per lesion, labelled ``"<disease>:<site>"``.

The paper's physicians drew rectangles and polygons in a LabelMe-based tool; one JSON file sits
beside each image. Coordinates are DICOM pixel coordinates: ``x`` is the column, ``y`` the row, with
the origin at the top-left corner of the top-left pixel. An image whose JSON has no shapes is normal.

``imagePath`` inside the JSON is only ever compared with the image's name: it is never opened, and a
path that leads outside the data folder is reported as a problem. It may name the DICOM file or a
picture of it: LabelMe opens pictures only, so the project writes an 8-bit PNG of each view beside
its DICOM file (:mod:`.display`) and its JSONs name that PNG (``X.png`` for ``X.dcm``; ``Y_anterior.png``
for the anterior frame of a two-frame ``Y.dcm``, whose JSON is ``Y_anterior.json``). A JSON saved on a
picture of another size than the DICOM (``imageHeight`` x ``imageWidth``) has its points scaled to
DICOM pixels.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..vocab import DISEASES

SHAPE_TYPES = ("rectangle", "polygon")
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")   # what LabelMe opens
LABELME_VERSION = "5.4.1"
EDGE_TOLERANCE = 1.0   # pixels a point may lie outside the image (LabelMe's drag can overshoot)


@dataclass(frozen=True)
class Lesion:
    """One annotated lesion."""
    disease: str                                  # "metastasis" | "arthritis"
    site: str                                     # e.g. "rib", "vertebra", "knee"
    shape_type: str                               # "rectangle" | "polygon"
    points: tuple[tuple[float, float], ...]       # (x, y) = (column, row)

    @property
    def label(self) -> str:
        return f"{self.disease}:{self.site}"

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in pixel coordinates, x0 <= x1, y0 <= y1."""
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        return (float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys)))


@dataclass(frozen=True)
class Annotation:
    path: Path
    image_path: str
    height: int | None
    width: int | None
    lesions: tuple[Lesion, ...]

    @property
    def label(self) -> str:
        return class_of(self.lesions)


def class_of(lesions) -> str:
    """Image class from its lesions: none = N, metastasis only = M, arthritis only = A, both = M&A."""
    diseases = {lesion.disease for lesion in lesions}
    other = sorted(diseases - set(DISEASES))
    if other:   # e.g. BS-80K's "abnormal" boxes: not metastasis, not arthritis, so no class of the paper
        raise DataError(f"lesions of kind {', '.join(map(repr, other))} have no class among N, M, A, M&A "
                        f"(only {', '.join(DISEASES)} do)")
    return {frozenset(): "N", frozenset({"metastasis"}): "M", frozenset({"arthritis"}): "A",
            frozenset(DISEASES): "M&A"}[frozenset(diseases)]


def parse_label(label: str, *, where: str = "") -> tuple[str, str]:
    """``"metastasis:rib"`` -> ("metastasis", "rib"); a label with no site gets site "unspecified"."""
    if not isinstance(label, str) or not label.strip():
        raise DataError(f"{where}empty or missing label")
    disease, _, site = label.strip().partition(":")
    disease = disease.strip().lower()
    if disease not in DISEASES:
        raise DataError(f"{where}unknown disease {disease!r} in label {label!r}; expected "
                        f"'<disease>:<site>' with disease one of {', '.join(DISEASES)}")
    return disease, (site.strip().lower() or "unspecified")


def _inside(path: str, json_dir: Path, data_dir: Path) -> bool:
    # path arithmetic only: nothing is opened and no link is followed
    base = os.path.normpath(os.path.join(os.path.abspath(json_dir), path.replace("\\", "/")))
    root = os.path.normpath(os.path.abspath(data_dir))
    return base == root or base.startswith(root + os.sep)


def _names_picture(image_path: str) -> bool:
    return Path(image_path.replace("\\", "/")).suffix.lower() in PICTURE_SUFFIXES


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DataError(f"{where}point coordinate {value!r} is not a finite number")
    return float(value)


def read_labelme(path: str | Path, *, data_dir: str | Path | None = None,
                 image_shape: tuple[int, int] | None = None, image_name: str | None = None) -> Annotation:
    """Read and check a LabelMe JSON file.

    ``image_shape`` (rows, cols) is the image it annotates: points must lie inside it (within
    ``EDGE_TOLERANCE`` pixels; points on the tolerance band are clamped). ``data_dir``: the
    ``imagePath`` must not lead outside it. ``image_name``: the ``imagePath`` must name this image
    or a picture of it: the same stem (``X.png`` for ``X.dcm``), or the JSON's own stem (LabelMe's
    name for a picture's annotation: ``Y_anterior.png`` beside ``Y_anterior.json``).

    When ``imagePath`` names a picture (PNG, JPEG, ...) whose declared size differs from
    ``image_shape``, the points are scaled from the picture's pixels to the image's (x by
    cols / imageWidth, y by rows / imageHeight). Lesions are always in the image's pixel coordinates.
    """
    path = Path(path)
    where = f"{path.name}: "
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{where}cannot read annotation ({type(err).__name__}: {err})") from None
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise DataError(f"{where}malformed JSON ({err})") from None
    if not isinstance(doc, dict):
        raise DataError(f"{where}malformed LabelMe file: expected a JSON object, got {type(doc).__name__}")
    shapes = doc.get("shapes", [])
    if not isinstance(shapes, list):
        raise DataError(f"{where}malformed LabelMe file: 'shapes' must be a list")

    image_path = doc.get("imagePath") or ""
    if not isinstance(image_path, str):
        raise DataError(f"{where}malformed LabelMe file: 'imagePath' must be a string")
    if image_path and data_dir is not None and not _inside(image_path, path.parent, Path(data_dir)):
        raise DataError(f"{where}imagePath {image_path!r} points outside the data folder (not followed)")
    if image_path and image_name is not None:
        named = Path(image_path.replace("\\", "/")).name
        if Path(named).stem not in (Path(image_name).stem, path.stem) and named != image_name:
            raise DataError(f"{where}imagePath {image_path!r} names another image than {image_name!r} "
                            "beside which it lies")

    height, width = doc.get("imageHeight"), doc.get("imageWidth")
    for key, value in (("imageHeight", height), ("imageWidth", width)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise DataError(f"{where}malformed LabelMe file: {key} {value!r} is not a positive integer")
    scale_x = scale_y = 1.0
    if image_shape is not None:
        rows, cols = image_shape
        if (height is not None and height != rows) or (width is not None and width != cols):
            if not (_names_picture(image_path) and height is not None and width is not None):
                raise DataError(f"{where}annotated image is {height} x {width}, the DICOM is {rows} x {cols}")
            scale_x, scale_y = cols / width, rows / height    # drawn on a scaled picture of the DICOM
            if abs(scale_x - scale_y) * min(width, height) > max(scale_x, scale_y):   # > 1 picture pixel
                raise DataError(f"{where}annotated picture is {height} x {width}, not a scaled copy of the "
                                f"{rows} x {cols} DICOM (another aspect ratio: cropped or padded?)")
    else:
        rows, cols = height, width

    lesions = []
    for k, shape in enumerate(shapes):
        at = f"{where}shape {k}: "
        if not isinstance(shape, dict):
            raise DataError(f"{at}malformed shape (expected an object)")
        disease, site = parse_label(shape.get("label"), where=at)
        kind = shape.get("shape_type") or "polygon"
        if kind not in SHAPE_TYPES:
            raise DataError(f"{at}shape_type {kind!r} not supported; expected one of {', '.join(SHAPE_TYPES)}")
        points = shape.get("points")
        if not isinstance(points, list) or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in points):
            raise DataError(f"{at}'points' must be a list of [x, y] pairs")
        pts = [(_number(x, at) * scale_x, _number(y, at) * scale_y) for x, y in points]
        need = 2 if kind == "rectangle" else 3
        if (kind == "rectangle" and len(pts) != 2) or len(pts) < need:
            raise DataError(f"{at}a {kind} needs {'exactly 2' if kind == 'rectangle' else 'at least 3'} "
                            f"points, got {len(pts)}")
        if rows is not None and cols is not None:
            for x, y in pts:
                if not (-EDGE_TOLERANCE <= x <= cols + EDGE_TOLERANCE
                        and -EDGE_TOLERANCE <= y <= rows + EDGE_TOLERANCE):
                    raise DataError(f"{at}label {shape.get('label')!r} has point ({x:g}, {y:g}) outside the "
                                    f"{rows} x {cols} image")
            pts = [(min(max(x, 0.0), float(cols)), min(max(y, 0.0), float(rows))) for x, y in pts]
        x0, y0, x1, y1 = min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), \
            max(p[1] for p in pts)
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            raise DataError(f"{at}label {shape.get('label')!r} encloses no area")
        lesions.append(Lesion(disease, site, kind, tuple(pts)))
    return Annotation(path=path, image_path=image_path, height=height, width=width, lesions=tuple(lesions))


def to_labelme(lesions, *, image_path: str, height: int, width: int) -> dict:
    """The LabelMe document for an image's lesions."""
    return {
        "version": LABELME_VERSION,
        "flags": {},
        "shapes": [{"label": lesion.label, "points": [[float(x), float(y)] for x, y in lesion.points],
                    "group_id": None, "description": "", "shape_type": lesion.shape_type, "flags": {},
                    "mask": None} for lesion in lesions],
        "imagePath": image_path,
        "imageData": None,
        "imageHeight": int(height),
        "imageWidth": int(width),
    }


def write_labelme(path: str | Path, lesions, *, image_path: str, height: int, width: int) -> Path:
    path = Path(path)
    path.write_text(json.dumps(to_labelme(lesions, image_path=image_path, height=height, width=width),
                               indent=1) + "\n", encoding="utf-8")
    return path
