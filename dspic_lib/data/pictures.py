"""Read whole-body scans stored as pictures (JPEG, PNG), as the public collections ship them.

A picture is not the scanner's file: BS-80K's JPEGs are 8-bit and lossy, the PNG collection's are
16-bit. Either way one grey channel becomes float32 counts, shape (rows, cols). An RGB picture whose
three channels are equal is read as grey; one with colour is refused (a rendering, not counts).

Everything that can go wrong raises :class:`~dspic_lib.errors.DataError` whose message starts with the
file name, as :mod:`dspic_lib.data.dicom` does.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..errors import DataError

PICTURE_SUFFIXES = {".jpg", ".jpeg", ".png"}
_MAX_SIDE = 4096
_GREY_MODES = {"L", "I;16", "I;16L", "I;16B", "I", "F"}


def _fail(path: Path, problem: str) -> DataError:
    return DataError(f"{Path(path).name}: {problem}")


def is_picture(path: str | Path) -> bool:
    return Path(path).suffix.lower() in PICTURE_SUFFIXES


def picture_bits(data: bytes) -> int | None:
    """Bits per sample of the picture in ``data``: 8 for 8-bit modes (grey, palette, colour), 1 for
    bilevel, 16 otherwise (16-bit grey, 32-bit integer or float); None when it is no picture PIL reads."""
    from PIL import Image as PILImage

    try:
        with PILImage.open(io.BytesIO(data)) as img:
            return {"L": 8, "P": 8, "RGB": 8, "RGBA": 8, "LA": 8, "1": 1}.get(img.mode, 16)
    except Exception:
        return None


def _grey(img, path: Path) -> tuple[np.ndarray, list[str]]:
    mode = img.mode
    if mode in _GREY_MODES:
        notes = ["8-bit picture: counts were quantized to 0-255 by the exporting system"] if mode == "L" else []
        return np.asarray(img), notes
    if mode in ("RGB", "RGBA", "LA"):
        arr = np.asarray(img)
        grey = arr[..., 0]
        channels = arr[..., :3] if mode != "LA" else arr[..., :1]
        if not (channels == grey[..., None]).all():
            raise _fail(path, f"colour picture ({mode} with different channels): a rendering, not counts")
        return grey, ["grey picture stored as RGB: read as one 8-bit channel"]
    raise _fail(path, f"picture mode {mode!r} is not grey scale (expected 8- or 16-bit grey)")


def read_picture(path: str | Path, *, shape: tuple[int, int] | None = None,
                 data: bytes | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """float32 counts (rows, cols) and notes of a grey JPEG or PNG; ``shape`` (rows, cols) it must have.
    ``data``: the file's bytes when the caller has read them already."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        raw = data if data is not None else path.read_bytes()
    except OSError as err:
        raise _fail(path, f"unreadable file ({err})") from None
    try:
        with Image.open(io.BytesIO(raw)) as img:
            width, height = img.size
            if not (16 <= height <= _MAX_SIDE and 16 <= width <= _MAX_SIDE):
                raise _fail(path, f"implausible image size {height} x {width}")
            img.load()
            counts, notes = _grey(img, path)
    except DataError:
        raise
    except UnidentifiedImageError:
        raise _fail(path, "not a readable JPEG or PNG picture") from None
    except Exception as err:  # Pillow raises many kinds for damaged files
        raise _fail(path, f"corrupt or truncated picture ({type(err).__name__}: {str(err)[:200]})") from None
    counts = np.asarray(counts, dtype=np.float32)
    if shape is not None and counts.shape != tuple(shape):
        raise _fail(path, f"image is {counts.shape[0]} x {counts.shape[1]} (rows x columns), expected "
                          f"{shape[0]} x {shape[1]} for a whole-body scan")
    if not np.isfinite(counts).all():
        raise _fail(path, "picture contains non-finite values")
    if (counts < 0).any():
        notes = [*notes, f"{int((counts < 0).sum())} pixels below 0 clipped to 0 (counts are never negative)"]
        counts = np.maximum(counts, 0)
    if float(counts.max()) == float(counts.min()):
        raise _fail(path, f"constant image (every pixel is {float(counts.max()):g}): nothing to see, and "
                          "min-max normalization (Eq. 1) would divide by zero")
    return counts, tuple(notes)
