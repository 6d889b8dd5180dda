"""Readers for two public whole-body bone-scan collections, into the same cohort table as the DICOM scan.

Both are **binary** (``task`` "binary", labels ``normal`` / ``abnormal``), not the paper's four classes:
an abnormal image is not M or A, and nothing downstream treats it as either (D1 and the paper's
experiments refuse a binary cohort). Neither is downloaded by this project: fetch them by hand.

``bs80k`` (BS-80K; its licence is not stated)::

    DATA/wholeBodyANT/<id>.jpg          8-bit JPEG, 256 wide x 1024 tall, one anterior view
    DATA/wholeBodyPOST/<id>.jpg         the posterior view of the same <id> (= the patient)
    DATA/wholeBodyANT.txt               "<file>\\t<0|1>" per line: 0 normal, 1 abnormal
    DATA/wholeBodyPOST.txt
    DATA/wholeBodyANT/ant/<id>.xml      Pascal VOC boxes, objects named Abnormal or Normal
    DATA/wholeBodyPOST/post/<id>.xml

An ``Abnormal`` box becomes a lesion of kind ``abnormal`` (site "unspecified"); ``Normal`` boxes are
not lesions and are not used. VOC coordinates are 1-based inclusive pixel indices: ``xmin..xmax`` covers
the pixel edges ``[xmin - 1, xmax]``. The label is the txt file's; an image it does not list is
``abnormal`` when it has Abnormal boxes, else ``unlabelled``. The XML is parsed with the standard
library after refusing any DTD or entity declaration (a VOC file has none) and any file over 1 MB.

``png-folders`` (291 patients, CC-BY-4.0)::

    DATA/<class>/Anterior/A<n>.png      16-bit PNG, 256 x 1024; patient = <class>/<n>
    DATA/<class>/Posterior/P<n>.png

The class folder's name gives every image in it its label (:func:`folder_class`), through an explicit
table (:data:`FOLDER_CLASSES`; case, spaces, ``_`` and ``-`` aside): ``Normal``, ``Negative``,
``Healthy``, ``Benign``, ``No``, ``Metastasis_No``, ``NoMetastasis``, ``non-metastatic``,
``metastasis-free`` ... are ``normal``; ``Abnormal``, ``Positive``, ``Yes``, ``Metastasis_Yes``,
``Metastatic``, ``Mets``, ``Malignant`` ... are ``abnormal``. Any other name (``not_normal``,
``Abnormal_NoMets``, ``Metastatic_not_excluded``) is a problem naming the folder, and its images are
left out: a name is never guessed from its words.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from ..errors import DataError
from ..vocab import ABNORMAL, BINARY_CLASSES, UNLABELLED
from .findings import Findings, Fingerprint, pixel_stats, rel_path
from .labelme import EDGE_TOLERANCE, Lesion
from .pictures import is_picture, read_picture

BS80K_VIEWS = {"anterior": ("wholeBodyANT", "ant"), "posterior": ("wholeBodyPOST", "post")}
PNG_VIEW_FOLDERS = {"anterior": "anterior", "ant": "anterior", "posterior": "posterior", "post": "posterior"}
MAX_XML_BYTES = 1_000_000


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _child(folder: Path, name: str) -> Path | None:
    """``folder/name``, matching the name without regard to case; None when absent."""
    exact = folder / name
    if exact.exists():
        return exact
    hits = _entries(folder) if folder.is_dir() else []
    return next((p for p in hits if p.name.lower() == name.lower()), None)


def guess_layout(data_dir: Path) -> str | None:
    """``bs80k`` or ``png-folders`` when the folder looks like one (for a hint in an error), else None."""
    if not data_dir.is_dir():
        return None
    if any(_child(data_dir, folder) is not None for folder, _ in BS80K_VIEWS.values()):
        return "bs80k"
    for sub in _entries(data_dir):
        if sub.is_dir() and any(p.is_dir() and p.name.lower() in PNG_VIEW_FOLDERS for p in _entries(sub)):
            return "png-folders"
    return None


# ------------------------------------------------------------------------------------------ BS-80K
def _picture_id(name: str) -> str:
    """``"123.jpg"`` -> ``"123"``; a name without a picture suffix is the id itself."""
    name = name.strip().replace("\\", "/").rsplit("/", 1)[-1]
    return Path(name).stem if is_picture(name) else name


def read_bs80k_labels(path: Path, findings) -> dict[str, str | None]:
    """Image id -> ``normal`` / ``abnormal`` from a ``<file>\\t<0|1>`` file; None for an id listed
    with both labels (reported)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        findings.add(path, f"unreadable label file ({type(err).__name__}: {err})")
        return {}
    out: dict[str, str | None] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in (line.split("\t") if "\t" in line else line.split())]
        if len(parts) != 2 or parts[1] not in ("0", "1"):
            if n == 1 and len(parts) == 2 and not parts[1].lstrip("-").isdigit():
                continue           # a header line
            findings.add(path, f"line {n}: expected '<file><TAB><0 or 1>', got {line.strip()[:60]!r}")
            continue
        key, label = _picture_id(parts[0]), BINARY_CLASSES[int(parts[1])]
        if key in out and out[key] != label:
            findings.add(path, f"line {n}: {parts[0]} is listed with both labels; it is left unlabelled")
            out[key] = None
        else:
            out[key] = label
    return out


def _number(node, tag: str, where: str) -> float:
    text = node.findtext(tag)
    try:
        value = float(str(text).strip())
    except (TypeError, ValueError):
        raise DataError(f"{where}missing or non-numeric <{tag}> ({text!r})") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise DataError(f"{where}<{tag}> {text!r} is not a finite number")
    return value


def read_voc(path: str | Path, *, image_shape: tuple[int, int]) -> tuple[tuple[Lesion, ...], int]:
    """The ``Abnormal`` boxes of a Pascal VOC file as lesions of kind ``abnormal`` (in pixel-edge
    coordinates, x = column), and the number of ``Normal`` boxes (not used)."""
    path = Path(path)
    where = f"{path.name}: "
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataError(f"{where}cannot read annotation ({err})") from None
    if len(data) > MAX_XML_BYTES:
        raise DataError(f"{where}{len(data):,} bytes: too large for a VOC annotation (limit {MAX_XML_BYTES:,})")
    if re.search(rb"<!\s*(DOCTYPE|ENTITY)", data, re.I):
        raise DataError(f"{where}declares a DTD or entities: refused (a VOC annotation has none)")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise DataError(f"{where}malformed XML ({err})") from None
    if root.tag != "annotation":
        raise DataError(f"{where}not a Pascal VOC annotation (root element <{root.tag}>, expected <annotation>)")
    rows, cols = image_shape
    size = root.find("size")
    if size is not None and size.findtext("width") is not None:
        width, height = _number(size, "width", where), _number(size, "height", where)
        if (int(height), int(width)) != (rows, cols):
            raise DataError(f"{where}annotated image is {int(height)} x {int(width)} (rows x columns), "
                            f"the picture is {rows} x {cols}")
    lesions, normal = [], 0
    for k, obj in enumerate(root.iter("object")):
        at = f"{where}object {k}: "
        name = (obj.findtext("name") or "").strip().lower()
        if name == "normal":
            normal += 1
            continue
        if name != "abnormal":
            raise DataError(f"{at}object name {obj.findtext('name')!r}; expected Abnormal or Normal")
        box = obj.find("bndbox")
        if box is None:
            raise DataError(f"{at}no <bndbox>")
        x0, y0 = _number(box, "xmin", at) - 1, _number(box, "ymin", at) - 1
        x1, y1 = _number(box, "xmax", at), _number(box, "ymax", at)
        if not (-EDGE_TOLERANCE - 1 <= x0 and x1 <= cols + EDGE_TOLERANCE
                and -EDGE_TOLERANCE - 1 <= y0 and y1 <= rows + EDGE_TOLERANCE):
            raise DataError(f"{at}box ({x0 + 1:g}, {y0 + 1:g}, {x1:g}, {y1:g}) lies outside the {rows} x {cols} image")
        x0, y0 = max(x0, 0.0), max(y0, 0.0)
        x1, y1 = min(x1, float(cols)), min(y1, float(rows))
        if x1 <= x0 or y1 <= y0:
            raise DataError(f"{at}box encloses no area")
        lesions.append(Lesion(ABNORMAL, "unspecified", "rectangle", ((x0, y0), (x1, y1))))
    return tuple(lesions), normal


def _bs80k_items(data_dir: Path, findings) -> tuple[list[dict], list[Path]]:
    items, extra = [], []
    found = False
    for view, (folder, xml_name) in BS80K_VIEWS.items():
        img_dir = _child(data_dir, folder)
        if img_dir is None or not img_dir.is_dir():
            continue
        found = True
        txt = _child(data_dir, folder + ".txt")
        listed = read_bs80k_labels(txt, findings) if txt is not None else {}
        extra += [txt] if txt is not None else []
        xml_dir = _child(img_dir, xml_name)
        xmls = {p.stem: p for p in _entries(xml_dir) if p.suffix.lower() == ".xml"} \
            if xml_dir is not None and xml_dir.is_dir() else {}
        extra += list(xmls.values())
        ids = set()
        for path in _entries(img_dir):
            if path.is_dir():
                continue
            if not is_picture(path):
                findings.add(path, "not a JPEG or PNG picture (left out)")
                continue
            ids.add(path.stem)
            items.append({"path": path, "patient_id": path.stem, "view": view, "listed": listed.get(path.stem),
                          "label_source": txt.name if path.stem in listed else "", "xml": xmls.get(path.stem)})
        for key in sorted(set(xmls) - ids):
            findings.warn(xmls[key], f"annotation with no picture {key}.jpg in {img_dir.name}/ (not used)")
        missing = sorted(set(listed) - ids)
        if missing:
            findings.warn(txt, f"{len(missing)} listed file(s) with no picture in {img_dir.name}/, e.g. "
                               f"{', '.join(missing[:3])}")
    if not found:
        raise DataError(f"{data_dir}: not a BS-80K folder: expected wholeBodyANT/ and/or wholeBodyPOST/ in it")
    return items, extra


# ------------------------------------------------------------------------------------- PNG folders
def _folder_key(name: str) -> str:
    """A class folder's name without case, spaces, ``_`` and ``-``: ``Metastasis_No`` -> ``metastasisno``."""
    return re.sub(r"[\s_\-]+", "", name).lower()


# The class folder names that are read, and nothing else: a name is looked up whole (case, spaces, "_"
# and "-" aside), never guessed from its words, since one word can turn the meaning round
# ("not_normal", "Abnormal_NoMets", "Metastatic_not_excluded").
FOLDER_CLASSES = {
    **dict.fromkeys(["normal", "negative", "neg", "healthy", "benign", "no", "nometastasis", "nometastases",
                     "nomets", "metastasisno", "metastasesno", "metsno", "nonmetastatic", "nonmetastasis",
                     "metastasisfree", "metastasesfree", "withoutmetastasis", "withoutmetastases",
                     "metastasisnegative", "metastasesnegative"], "normal"),
    **dict.fromkeys(["abnormal", "positive", "pos", "yes", "metastasis", "metastases", "metastatic", "mets",
                     "malignant", "metastasisyes", "metastasesyes", "metsyes", "withmetastasis",
                     "withmetastases", "metastasispositive", "metastasespositive"], "abnormal"),
}


def folder_class(name: str) -> str | None:
    """``normal`` or ``abnormal`` for a class folder's name listed in :data:`FOLDER_CLASSES`, else None."""
    return FOLDER_CLASSES.get(_folder_key(name))


def _png_items(data_dir: Path, findings) -> tuple[list[dict], list[Path]]:
    items = []
    class_dirs = [p for p in _entries(data_dir) if p.is_dir()]
    if not class_dirs:
        raise DataError(f"{data_dir}: no class folders (expected <class>/Anterior/A<n>.png and "
                        "<class>/Posterior/P<n>.png)")
    for cls_dir in class_dirs:
        label = folder_class(cls_dir.name)
        if label is None:
            findings.add(cls_dir, f"class folder {cls_dir.name!r} is not a known name for normal (Normal, "
                                  "Negative, Metastasis_No, NoMetastasis, non-metastatic, ...) or abnormal "
                                  "(Abnormal, Positive, Metastasis_Yes, Metastatic, ...): its images were "
                                  "left out; rename it to one of them")
            continue
        for sub in _entries(cls_dir):
            view = PNG_VIEW_FOLDERS.get(sub.name.lower()) if sub.is_dir() else None
            if view is None:
                findings.add(sub, "neither an Anterior/ nor a Posterior/ folder (left out)")
                continue
            letter = view[0].upper()
            for path in _entries(sub):
                match = re.fullmatch(rf"{letter}(\d+)\.png", path.name, re.I)
                if path.is_dir() or match is None:
                    findings.add(path, f"expected {letter}<number>.png in {sub.name}/ (left out)")
                    continue
                items.append({"path": path, "patient_id": f"{cls_dir.name}/{int(match.group(1))}", "view": view,
                              "listed": label, "label_source": "folder name", "xml": None})
    return items, []


# ------------------------------------------------------------------------------------------ scan
_READERS = {"bs80k": _bs80k_items, "png-folders": _png_items}


def files(layout: str, data_dir: Path) -> list[Path]:
    """Every file the scan of ``layout`` reads (for the folder's fingerprint)."""
    quiet = Findings(data_dir, strict=False)
    items, extra = _READERS[layout](data_dir, quiet)
    return [*(item["path"] for item in items), *extra]


def _label(item: dict, lesions, findings) -> tuple[str, str]:
    if item["listed"] is not None:
        if item["listed"] == "normal" and lesions:
            findings.warn(item["xml"], f"{len(lesions)} Abnormal box(es) on a picture {item['label_source']} "
                                       "calls normal; the label is used")
        return item["listed"], item["label_source"]
    if lesions:
        return ABNORMAL, "boxes"
    return UNLABELLED, "none"


def _record(item: dict, data_dir: Path, shape, prints, findings, on_pixels) -> dict | None:
    path = item["path"]
    try:
        px, notes = read_picture(path, shape=shape, data=prints.add(path, path.read_bytes()))
    except (DataError, OSError) as err:
        findings.add(path, str(err) if isinstance(err, DataError) else f"unreadable file ({err})")
        return None
    lesions = ()
    if item["xml"] is not None:
        try:
            lesions, _ = read_voc(item["xml"], image_shape=px.shape)
        except DataError as err:
            findings.add(item["xml"], str(err))
            return None
    label, source = _label(item, lesions, findings)
    rel = rel_path(path, data_dir)
    if on_pixels is not None:
        on_pixels(rel, 0, px)
    return {"patient_id": item["patient_id"], "view": item["view"], "path": rel, "frame": 0,
            "label": label, "label_source": source, "sex": None, "age": None, "lesions": lesions,
            "annotation": rel_path(item["xml"], data_dir) if item["xml"] is not None else "",
            "rows": px.shape[0], "cols": px.shape[1], **pixel_stats(px), "notes": "; ".join(notes)}


def read(layout: str, data_dir: Path, *, strict: bool = False, shape=None, progress: bool = False,
         on_pixels=None) -> tuple[list[dict], Findings, Fingerprint]:
    """The records of a ``bs80k`` or ``png-folders`` folder (see the module's docstring), with the
    problems and warnings met and the folder's fingerprint; :func:`.cohort.scan` makes them a cohort."""
    from tqdm import tqdm

    findings = Findings(data_dir, strict)
    items, extra = _READERS[layout](data_dir, findings)
    if not items and not findings.rows:
        raise DataError(f"{data_dir}: no pictures found for the {layout} layout")
    prints = Fingerprint(data_dir)
    for path in extra:
        try:
            prints.add(path, path.read_bytes())
        except OSError:
            pass          # reported where it is parsed
    records = []
    for item in tqdm(items, desc="scanning", unit="file", disable=not progress):
        rec = _record(item, data_dir, shape, prints, findings, on_pixels)
        if rec is not None:
            records.append(rec)
    return records, findings, prints
