"""Read and write whole-body nuclear-medicine (NM) DICOM files.

A whole-body bone scan reaches us in one of two shapes:

* one single-frame file per view (anterior, posterior), or
* one two-frame NM file holding both views, the frames told apart by ``DetectorVector`` (0054,0020)
  pointing into ``DetectorInformationSequence``, whose items carry a ``ViewCodeSequence``.

A single-frame file from a PACS often does not say its view (no ViewCodeSequence, no ANT/POST in any
description): it is read with view ``"unknown"`` and ``NMFile.view_source`` empty, and the scan decides
(views.csv, ``--view``) or keeps it as unknown.

Pixel data may be native (16-bit unsigned or signed) or compressed with the transfer syntaxes that
PACS exports use (JPEG baseline/extended incl. 12-bit, JPEG lossless, JPEG-LS, JPEG 2000, RLE); the
decoders come from pydicom and the pylibjpeg plugins. ``RescaleSlope``/``RescaleIntercept`` are
applied. Counts are never negative, but lossy JPEG 2000 can decode to a few negative values around
hot spots (ringing): they are clipped at 0 and the clipping is reported as a note.

Everything that can go wrong with a file raises :class:`~dspic_lib.errors.DataError` whose message
starts with the file name and says what was expected.
"""
from __future__ import annotations

import datetime as _dt
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..vocab import UNKNOWN_VIEW, VIEWS

WHOLE_BODY_SHAPE = (1024, 256)       # rows x cols of the paper's scans (Siemens ECAM whole body)
PIXEL_SPACING_MM = 2.4

NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
# SNOMED CT codes of CID 26 "Nuclear Medicine Projection" (and their legacy SNOMED-RT values)
VIEW_CODES = {
    "anterior": ("399321004", "SCT", "anterior projection"),
    "posterior": ("399001007", "SCT", "posterior projection"),
}
_CODE_TO_VIEW = {"399321004": "anterior", "G-5215": "anterior",
                 "399001007": "posterior", "G-5216": "posterior"}
_TEXT_VIEW = [(re.compile(r"(?<![a-z])(ant|anterior)(?![a-z])", re.I), "anterior"),
              (re.compile(r"(?<![a-z])(post|posterior)(?![a-z])", re.I), "posterior")]
_MAX_FRAMES = 2
_MAX_SIDE = 4096


@dataclass(frozen=True)
class NMFile:
    """What a whole-body NM file says about itself (no identifying header values kept but the ID)."""
    path: Path
    patient_id: str
    sex: str | None               # "F", "M" or None
    age: float | None             # years
    views: tuple[str, ...]        # one per frame; UNKNOWN_VIEW where a single frame does not say
    rows: int
    cols: int
    transfer_syntax: str
    notes: tuple[str, ...] = ()
    view_source: str = ""         # VIEW_FROM_CODE, VIEW_FROM_TEXT, VIEW_FROM_NAME, or "" (unknown)

    @property
    def n_frames(self) -> int:
        return len(self.views)


@dataclass(frozen=True)
class NMImage:
    """One decoded view: float32 counts, shape (rows, cols)."""
    path: Path
    frame: int
    view: str
    pixels: np.ndarray
    notes: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------------------- reading
def _fail(path: Path, problem: str) -> DataError:
    return DataError(f"{Path(path).name}: {problem}")


SHOWN_CHARS = 16
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"     # Media Storage Directory Storage: an index, no image


def shown(value, limit: int = SHOWN_CHARS) -> str:
    """A header value as a message may quote it, in quotes: up to its first character that is not
    printable ASCII and at most ``limit`` characters, ``...`` marking a cut. A damaged length field can
    make one attribute's value run over the next elements (name, ID, dates); their binary tags stop the
    quote there, and the cap keeps it short, so no header value enters a message except through here."""
    text = value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)
    end = next((i for i, c in enumerate(text) if not " " <= c <= "~"), len(text))
    keep = min(end, limit)
    return repr(text[:keep] + ("..." if keep < len(text) else ""))


_QUOTED = re.compile(r"b?'[^']*'|b?\"[^\"]*\"")


def library_text(err: BaseException, limit: int = 200) -> str:
    """A library's exception as a message may show it: its type and text with every quoted value
    replaced by ``'...'`` (pydicom quotes the header value it choked on, which may be a neighbour's),
    printable and at most ``limit`` characters."""
    text = _QUOTED.sub("'...'", " | ".join(line.strip() for line in str(err).splitlines() if line.strip()))
    text = "".join(c if " " <= c <= "~" else "?" for c in text)
    text = text if len(text) <= limit else text[:limit] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _truncated(ds, size: int, caught) -> bool:
    """Whether the file ends before its header says it does: pydicom met the end of the file inside a
    sequence or the pixel data, the file meta header's group length runs past the end, an element's
    value does, or nothing follows the file meta header."""
    if any("end of file" in str(w.message).lower() for w in caught):
        return True
    try:
        length = ds.file_meta.get("FileMetaInformationGroupLength")
        if length is not None and 132 + 12 + int(length.value if hasattr(length, "value") else length) > size:
            return True
    except (TypeError, ValueError, AttributeError):
        pass
    tags = list(ds.keys())
    if not tags:
        return True
    for tag in tags[-3:]:
        raw = ds.get_item(tag)
        tell, n = getattr(raw, "value_tell", None), getattr(raw, "length", None)
        if tell is None or n is None or n == 0xFFFFFFFF:
            continue
        if tell + n > size:
            return True
        # pydicom stops without a word at an element header cut short: bytes left after the last
        # element of a file that has not reached its pixel data
        if tag == tags[-1] and tell + n < size and "PixelData" not in ds:
            return True
    return False


_TRUNCATED = ("truncated: the file ends after {size:,} bytes, before its header says it does (copy it "
              "again from the source)")


def _dcmread(path: Path, data: bytes | None = None):
    """Parse ``path`` (or its ``data``, already read by the caller, so each file is read once)."""
    import io

    import pydicom
    from pydicom.errors import InvalidDicomError

    path = Path(path)
    if data is None and not path.is_file():
        raise _fail(path, "no such file")
    if data is None:
        data = path.read_bytes()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = pydicom.dcmread(io.BytesIO(data))
    except InvalidDicomError:
        raise _fail(path, "not a DICOM file (no 'DICM' preamble and no readable header)") from None
    except Exception as err:  # pydicom raises many kinds for damaged files
        if isinstance(err, (EOFError, OSError)) and ("no tag to read" in str(err).lower() or isinstance(err, EOFError)):
            raise _fail(path, _TRUNCATED.format(size=len(data))) from None
        raise _fail(path, f"unreadable or truncated DICOM ({library_text(err)})") from None
    if str(_get(ds.file_meta, "MediaStorageSOPClassUID", "")) == DICOMDIR_SOP_CLASS:
        raise _fail(path, "a DICOMDIR (the index of a DICOM disc or folder), not an image: read the "
                          "image files it lists")
    if _truncated(ds, len(data), caught):
        raise _fail(path, _TRUNCATED.format(size=len(data)))
    return ds


def _get(ds, keyword: str, default=None):
    """A header value, or ``default`` where it is missing or cannot be parsed."""
    try:
        value = ds.get(keyword, default)
    except Exception:
        return default
    return default if value is None or value == "" else value


def _int(ds, keyword: str, path: Path, default: int | None = None) -> int:
    value = _get(ds, keyword, default)
    try:
        if value is None:
            raise ValueError
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise _fail(path, f"missing or unreadable {keyword}") from None


def _code_view(item) -> str | None:
    codes = _get(item, "ViewCodeSequence", [])
    try:
        for code in codes:
            value = str(_get(code, "CodeValue", "")).strip()
            if value in _CODE_TO_VIEW:
                return _CODE_TO_VIEW[value]
            view = text_view(str(_get(code, "CodeMeaning", "")))
            if view:
                return view
    except Exception:
        return None
    return None


def text_view(text: str) -> str | None:
    found = {view for pattern, view in _TEXT_VIEW if pattern.search(text.replace("_", " "))}
    return found.pop() if len(found) == 1 else None


# where a file's view was read (NMFile.view_source); "" = nowhere: the view is UNKNOWN_VIEW
VIEW_FROM_CODE, VIEW_FROM_TEXT, VIEW_FROM_NAME = "view code", "header text", "file name"
_VIEW_TEXT_KEYWORDS = ("SeriesDescription", "ImageComments", "ProtocolName", "ImageID")


def _views(ds, path: Path, n_frames: int) -> tuple[tuple[str, ...], str]:
    """The view of each frame and where it was read. A two-frame file must say both (its detectors'
    ViewCodeSequence); a single frame's view comes from a view code, then words in the header's
    descriptions, then the file name, else it is ``UNKNOWN_VIEW`` (the scan may still learn it from
    views.csv or ``--view``)."""
    detectors = list(_get(ds, "DetectorInformationSequence", []) or [])
    if n_frames > 1:
        raw = _get(ds, "DetectorVector", None)
        try:
            vector = [] if raw is None else [int(v) for v in (raw if hasattr(raw, "__iter__") else [raw])]
        except (TypeError, ValueError):
            vector = []
        if len(vector) != n_frames or len(set(vector)) != n_frames:
            raise _fail(path, f"{n_frames} frames that cannot be told apart: DetectorVector is "
                              f"{shown(vector) if vector else 'missing'}, expected one distinct detector per frame")
        views = []
        for det in vector:
            item = detectors[det - 1] if 1 <= det <= len(detectors) else None
            view = _code_view(item) if item is not None else None
            if view is None:
                raise _fail(path, f"frames cannot be told apart: detector {det} has no "
                                  "ViewCodeSequence saying anterior or posterior")
            views.append(view)
        if len(set(views)) != n_frames:
            raise _fail(path, f"frames cannot be told apart: every frame claims view {views[0]!r}")
        return tuple(views), VIEW_FROM_CODE
    for item in detectors[:1] + [ds]:
        view = _code_view(item)
        if view:
            return (view,), VIEW_FROM_CODE
    for keyword in _VIEW_TEXT_KEYWORDS:
        view = text_view(str(_get(ds, keyword, "")))
        if view:
            return (view,), VIEW_FROM_TEXT
    view = text_view(path.stem)
    if view:
        return (view,), VIEW_FROM_NAME
    return (UNKNOWN_VIEW,), ""


def _age(ds) -> float | None:
    text = str(_get(ds, "PatientAge", "")).strip().upper()
    match = re.fullmatch(r"(\d{1,3})([DWMY]?)", text)
    if match:
        n, unit = int(match.group(1)), match.group(2) or "Y"
        return round(n / {"D": 365.25, "W": 52.18, "M": 12.0, "Y": 1.0}[unit], 2)
    try:
        born = _dt.datetime.strptime(str(_get(ds, "PatientBirthDate", "")), "%Y%m%d").date()
        seen = _dt.datetime.strptime(str(_get(ds, "StudyDate", "") or _get(ds, "AcquisitionDate", "")),
                                     "%Y%m%d").date()
    except ValueError:
        return None
    years = (seen - born).days / 365.25
    return round(years, 2) if 0 <= years < 130 else None


def _check_header(ds, path: Path, shape: tuple[int, int] | None) -> NMFile:
    modality = str(_get(ds, "Modality", "")).strip()
    if modality != "NM":
        raise _fail(path, "expected a nuclear-medicine (NM) image, got modality "
                          + (shown(modality) if modality else "'missing'"))
    if "PixelData" not in ds:
        raise _fail(path, "no pixel data (not an image, or the file was cut short before its pixels)")
    samples = _int(ds, "SamplesPerPixel", path, 1)
    if samples != 1:
        raise _fail(path, f"expected one grayscale sample per pixel, got {shown(samples)} (a colour rendering?)")
    try:
        ts = ds.file_meta.TransferSyntaxUID
        known = ts.is_transfer_syntax
    except (AttributeError, ValueError):
        known = False
    if not known:
        raise _fail(path, "missing or unknown transfer syntax in the file meta header")
    bits = _int(ds, "BitsAllocated", path)
    lossy_8bit_jpeg = bits == 8 and ts in ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51")
    notes: list[str] = []
    if bits != 16 and not lossy_8bit_jpeg:
        raise _fail(path, f"{bits}-bit pixel data: expected 16-bit counts (an 8-bit file is a rendering "
                          "or screen capture, not the scanner's counts)")
    if lossy_8bit_jpeg:
        notes.append("8-bit lossy JPEG: counts were quantized by the exporting system")
    rows, cols = _int(ds, "Rows", path), _int(ds, "Columns", path)
    if not (16 <= rows <= _MAX_SIDE and 16 <= cols <= _MAX_SIDE):
        raise _fail(path, f"implausible image size {rows} x {cols}")
    if shape is not None and (rows, cols) != tuple(shape):
        raise _fail(path, f"image is {rows} x {cols} (rows x columns), expected {shape[0]} x {shape[1]} "
                          "for a whole-body scan")
    n_frames = _int(ds, "NumberOfFrames", path, 1)
    if not 1 <= n_frames <= _MAX_FRAMES:
        raise _fail(path, f"{n_frames} frames: expected 1 (one view) or 2 (anterior and posterior)")
    views, view_source = _views(ds, path, n_frames)
    patient = str(_get(ds, "PatientID", "")).strip()
    if not patient:
        raise _fail(path, "no PatientID: the two views of a patient cannot be paired")
    sex = str(_get(ds, "PatientSex", "")).strip().upper()[:1]
    return NMFile(path=Path(path), patient_id=patient, sex=sex if sex in ("F", "M") else None,
                  age=_age(ds), views=views, rows=rows, cols=cols, transfer_syntax=str(ts),
                  notes=tuple(notes), view_source=view_source)


def _check_decoder(ds, info: NMFile) -> None:
    from pydicom.pixels import get_decoder

    path, ts = info.path, ds.file_meta.TransferSyntaxUID
    if not ts.is_compressed:
        return
    try:
        decoder = get_decoder(ts)
    except NotImplementedError:
        raise _fail(path, f"no decoder exists for transfer syntax {ts.name} ({ts})") from None
    if not decoder.is_available:
        try:
            missing = "; ".join(str(m) for m in decoder.missing_dependencies)
        except Exception:
            missing = ""
        raise _fail(path, f"no decoder installed for {ts.name} ({missing or 'plugins missing'})")


_JPEG_FAMILY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
                "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"}
_JPEG_2000 = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201",
              "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"}


def _check_stream_size(ds, info: NMFile, frame: int) -> None:
    """A compressed frame must say the header's size before it is decoded: a decoder allocates what
    its stream says, and one flipped bit in a JPEG 2000 size field (1024 x 8,388,864) made it reach
    for tens of gigabytes. Streams whose size cannot be read are left to the decoder to refuse."""
    ts = str(ds.file_meta.TransferSyntaxUID)
    if ts not in _JPEG_FAMILY | _JPEG_2000:
        return
    try:
        from pydicom.encaps import get_frame

        stream = get_frame(ds.PixelData, frame, number_of_frames=info.n_frames)
        if ts in _JPEG_2000:
            import openjpeg

            params = openjpeg.get_parameters(stream)
        else:
            import libjpeg

            params = libjpeg.get_parameters(stream)
        size = (int(params["rows"]), int(params["columns"]))
    except Exception:
        return
    if size != (info.rows, info.cols):
        raise _fail(info.path, f"corrupt compressed pixel data: frame {frame}'s stream says {size[0]} x "
                               f"{size[1]}, the header {info.rows} x {info.cols} (not decoded)")


def _decode_frame(ds, info: NMFile, frame: int) -> np.ndarray:
    """The stored values of one frame, decoded alone (pydicom decodes only the frame asked for, in
    native and in encapsulated transfer syntaxes alike)."""
    from pydicom.pixels import pixel_array

    ts = ds.file_meta.TransferSyntaxUID
    _check_stream_size(ds, info, frame)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = pixel_array(ds, index=frame if info.n_frames > 1 else None)
    except Exception as err:
        kind = "corrupt compressed pixel data" if ts.is_compressed else "pixel data does not match the header"
        raise _fail(info.path, f"{kind} ({ts.name}): {library_text(err, 400).split(': ', 1)[-1]}") from None
    raw = np.asarray(raw)
    if raw.shape != (info.rows, info.cols):
        raise _fail(info.path, f"decoded frame {frame} has shape {raw.shape}, header says "
                               f"{(info.rows, info.cols)}")
    return raw


def _rescale(ds, path: Path) -> tuple[float, float]:
    slope, intercept = _get(ds, "RescaleSlope", 1), _get(ds, "RescaleIntercept", 0)
    try:
        slope, intercept = float(slope), float(intercept)
    except (TypeError, ValueError):
        raise _fail(path, f"unreadable RescaleSlope/RescaleIntercept {shown(slope)}/{shown(intercept)}") from None
    if not (np.isfinite(slope) and np.isfinite(intercept)) or slope == 0:
        raise _fail(path, f"unusable rescale slope {shown(slope)} / intercept {shown(intercept)}")
    return slope, intercept


def _decode(ds, info: NMFile, frames=None) -> list[tuple[np.ndarray, tuple[str, ...]]]:
    """Counts (float32) and notes of the ``frames`` asked for (default: all), each decoded once."""
    path = info.path
    _check_decoder(ds, info)
    slope, intercept = _rescale(ds, path)
    out = []
    for k in range(info.n_frames) if frames is None else frames:
        counts = _decode_frame(ds, info, k).astype(np.float32)
        if slope != 1 or intercept != 0:
            counts = counts * np.float32(slope) + np.float32(intercept)
        notes = list(info.notes)
        negative = counts < 0
        if negative.any():
            notes.append(f"{int(negative.sum())} pixels below 0 (min {float(counts.min()):.0f}) clipped to 0 "
                         "(lossy-compression ringing or signed storage; counts are never negative)")
            np.maximum(counts, 0, out=counts)
        if not np.isfinite(counts).all():
            raise _fail(path, "pixel data contains non-finite values after rescaling")
        if float(counts.max()) == float(counts.min()):
            raise _fail(path, f"constant image (every pixel is {float(counts.max()):g}): nothing to see, and "
                              "min-max normalization (Eq. 1) would divide by zero")
        out.append((counts, tuple(notes)))
    return out


def _guarded(path: Path, read):
    """Run a reader; anything but DataError that escapes it (a damaged file pydicom trips over in a
    way not foreseen above) becomes a DataError naming the file, as the readers promise."""
    import logging

    logger = logging.getLogger("pydicom")
    level = logger.level
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # pydicom's warnings and log lines quote header values
            logger.setLevel(logging.ERROR)
            return read()
    except DataError:
        raise
    except Exception as err:
        raise _fail(path, f"unreadable DICOM ({library_text(err)})") from None
    finally:
        logger.setLevel(level)


def read_nm(path: str | Path, *, shape: tuple[int, int] | None = WHOLE_BODY_SHAPE,
            data: bytes | None = None) -> tuple[NMFile, list[NMImage]]:
    """Read a whole-body NM file: its header summary and one :class:`NMImage` per frame (view).
    ``data``: the file's bytes when the caller has read them already."""
    path = Path(path)

    def read():
        ds = _dcmread(path, data)
        info = _check_header(ds, path, shape)
        return info, [NMImage(path=path, frame=k, view=info.views[k], pixels=px, notes=notes)
                      for k, (px, notes) in enumerate(_decode(ds, info))]

    return _guarded(path, read)


def read_frames(path: str | Path, frames: list[int], *,
                shape: tuple[int, int] | None = WHOLE_BODY_SHAPE) -> dict[int, np.ndarray]:
    """The float32 counts of the ``frames`` of a file, each decoded once (the file is read once)."""
    path = Path(path)

    def read():
        ds = _dcmread(path)
        info = _check_header(ds, path, shape)
        for frame in frames:
            if not 0 <= frame < info.n_frames:
                raise _fail(path, f"has {info.n_frames} frame(s), frame {frame} was asked for")
        return dict(zip(frames, (px for px, _ in _decode(ds, info, frames))))

    return _guarded(path, read)


def read_frame(path: str | Path, frame: int = 0, *,
               shape: tuple[int, int] | None = WHOLE_BODY_SHAPE) -> np.ndarray:
    """The float32 counts of one frame of a file; only that frame is decoded."""
    path = Path(path)

    def read():
        ds = _dcmread(path)
        info = _check_header(ds, path, shape)
        if not 0 <= frame < info.n_frames:
            raise _fail(path, f"has {info.n_frames} frame(s), frame {frame} was asked for")
        return _decode(ds, info, [frame])[0][0]

    return _guarded(path, read)


# --------------------------------------------------------------------------------------- writing
@dataclass(frozen=True)
class PatientInfo:
    """Synthetic identity written into the header (the book never prints these)."""
    patient_id: str
    name: str
    sex: str                      # "F" or "M"
    age: int
    study_date: str               # YYYYMMDD
    study_time: str = "093000"
    weight_kg: float | None = None
    height_m: float | None = None


def _uid(*parts) -> str:
    """A deterministic UID: 2.25.<name-based UUID of the parts> (never from the clock or a random
    source; pydicom's generate_uid(prefix=None) would use uuid4 and ignore its entropy sources)."""
    import uuid

    return "2.25." + str(uuid.uuid5(uuid.NAMESPACE_URL, "dspic:" + "/".join(str(p) for p in parts)).int)


def _code(value: str, scheme: str, meaning: str):
    from pydicom.dataset import Dataset

    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def build_nm_dataset(frames: list[tuple[str, np.ndarray]], patient: PatientInfo, *, uid_seed: str,
                     series_number: int = 1, instance_number: int = 1,
                     pixel_spacing_mm: float = PIXEL_SPACING_MM, signed: bool = False,
                     rescale: tuple[float, float] | None = None, description: str | None = None):
    """An NM Image Storage dataset (whole body) holding one frame per ``(view, counts)`` pair.

    The attributes are those the NM Image IOD needs to pass ``dciodvfy`` without errors: the NM
    multi-frame module (FrameIncrementPointer = EnergyWindowVector \\ DetectorVector), one detector
    item per frame with its ViewCodeSequence, and the isotope module (Tc-99m medronate).
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.tag import Tag
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

    if not 1 <= len(frames) <= 2:
        raise DataError(f"an NM whole-body file holds 1 or 2 views, got {len(frames)}")
    views = [v for v, _ in frames]
    for v in views:
        if v not in VIEWS:
            raise DataError(f"unknown view {v!r}; valid: {', '.join(VIEWS)}")
    if len(set(views)) != len(views):
        raise DataError(f"two frames with the same view {views}")
    arrays = [np.asarray(a) for _, a in frames]
    shape = arrays[0].shape
    if any(a.shape != shape or a.ndim != 2 for a in arrays):
        raise DataError("all frames must be 2-D arrays of the same shape")
    dtype = np.int16 if signed else np.uint16
    info = np.iinfo(dtype)
    stored = []
    for a in arrays:
        if a.size and (not np.isfinite(a).all() or a.min() < info.min or a.max() > info.max):
            raise DataError(f"pixel values outside the {np.dtype(dtype).name} range")
        stored.append(np.ascontiguousarray(np.rint(a) if np.issubdtype(a.dtype, np.floating) else a,
                                           dtype=dtype))

    study_uid = _uid(uid_seed, "study")
    series_uid = _uid(uid_seed, "series", series_number)
    sop_uid = _uid(uid_seed, "sop", series_number, instance_number)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = NM_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
    ds.SOPClassUID = NM_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = patient.study_date
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = patient.study_time
    ds.AccessionNumber = ""
    ds.Modality = "NM"
    ds.Manufacturer = "dspic_lib synthetic phantom"
    ds.InstitutionName = "SYNTHETIC"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "NM whole-body bone scan (synthetic)"
    ds.SeriesDescription = description or ("WB " + " & ".join(v[:3].upper() for v in views))
    ds.ManufacturerModelName = "dspic phantom"
    # patient
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = patient.sex
    ds.PatientAge = f"{int(patient.age):03d}Y"
    if patient.weight_kg is not None:
        ds.PatientWeight = f"{patient.weight_kg:.1f}"
    if patient.height_m is not None:
        ds.PatientSize = f"{patient.height_m:.2f}"
    ds.BodyPartExamined = "WHOLEBODY"
    # study / series / instance
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance_number
    ds.PatientOrientation = ""
    ds.ImageID = " ".join(v[:4].upper().replace("ANTE", "ANT") for v in views)
    ds.LossyImageCompression = "00"
    # NM/PET patient orientation: supine, feet first
    ds.PatientOrientationCodeSequence = Sequence([_code("102538003", "SCT", "recumbent")])
    ds.PatientOrientationCodeSequence[0].PatientOrientationModifierCodeSequence = Sequence(
        [_code("40199007", "SCT", "supine")])
    ds.PatientGantryRelationshipCodeSequence = Sequence([_code("102541007", "SCT", "feet-first")])
    # image pixel
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(shape[0]), int(shape[1])
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if signed else 0
    ds.PixelSpacing = [f"{pixel_spacing_mm:g}", f"{pixel_spacing_mm:g}"]
    if rescale is not None:
        ds.RescaleSlope, ds.RescaleIntercept = f"{rescale[0]:g}", f"{rescale[1]:g}"
    # NM multi-frame: whole body images are indexed by energy window and detector
    n = len(frames)
    ds.NumberOfFrames = n
    ds.FrameIncrementPointer = [Tag(0x0054, 0x0010), Tag(0x0054, 0x0020)]
    ds.EnergyWindowVector = [1] * n
    ds.NumberOfEnergyWindows = 1
    ds.DetectorVector = list(range(1, n + 1))
    ds.NumberOfDetectors = n
    # NM image
    ds.CountsAccumulated = int(sum(int(a.astype(np.int64).sum()) for a in stored))
    ds.ActualFrameDuration = 1200000          # ms: a 12-min whole-body sweep
    ds.ScanVelocity = 10.0                    # cm/min
    ds.WholeBodyTechnique = ["1PS", "2PS"] if n == 2 else ["1PS"]
    ds.ScanLength = int(round(shape[0] * pixel_spacing_mm))
    # NM isotope: one Tc-99m photopeak window, Tc-99m medronate (MDP)
    window = Dataset()
    window.EnergyWindowRangeSequence = Sequence([Dataset()])
    window.EnergyWindowRangeSequence[0].EnergyWindowLowerLimit = "126"
    window.EnergyWindowRangeSequence[0].EnergyWindowUpperLimit = "154"
    window.EnergyWindowName = "TC99M"
    ds.EnergyWindowInformationSequence = Sequence([window])
    radio = Dataset()
    radio.RadionuclideCodeSequence = Sequence([_code("72454006", "SCT", "Technetium-99m")])
    radio.RadiopharmaceuticalCodeSequence = Sequence([_code("96390006", "SCT", "Medronate")])
    radio.Radiopharmaceutical = "Tc-99m MDP"
    radio.RadionuclideTotalDose = "740"
    ds.RadiopharmaceuticalInformationSequence = Sequence([radio])
    # NM detector: one item per frame, each with its view
    detectors = []
    for v in views:
        det = Dataset()
        det.CollimatorGridName = "LEHR"
        det.CollimatorType = "PARA"
        det.ImagePositionPatient = None
        det.ImageOrientationPatient = None
        det.ViewCodeSequence = Sequence([_code(*VIEW_CODES[v])])
        detectors.append(det)
    ds.DetectorInformationSequence = Sequence(detectors)
    ds.AcquisitionContextSequence = Sequence([])
    ds.PixelData = (stored[0] if n == 1 else np.stack(stored)).tobytes()
    ds["PixelData"].VR = "OW"
    return ds


def write_nm(path: str | Path, frames: list[tuple[str, np.ndarray]], patient: PatientInfo, *,
             uid_seed: str, **kwargs) -> Path:
    """Write an NM Image Storage file (see :func:`build_nm_dataset`); returns the path."""
    path = Path(path)
    ds = build_nm_dataset(frames, patient, uid_seed=uid_seed, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path
