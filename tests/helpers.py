"""Helpers that only tests use (kept out of the package so that nothing in it is dead code)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dspic_lib.data import dicom
from dspic_lib.models import summary
from dspic_lib.pipeline.datasets import Dataset, from_arrays
from dspic_lib.vocab import CLASSES


def read_header(path: str | Path, *, shape: tuple[int, int] | None = dicom.WHOLE_BODY_SHAPE) -> dicom.NMFile:
    """Check a file's header (modality, size, bit depth, views); pixels are not decoded."""
    path = Path(path)
    return dicom._guarded(path, lambda: dicom._check_header(dicom._dcmread(path), path, shape))


def paper_layers(model) -> list[str]:
    """The row wordings of the model, without the rows the tables do not print (GAP / Flatten)."""
    rows = [summary._describe(tag, group)["layer"] for tag, group in summary._groups(model).items()]
    return [row for row in rows if row not in summary.ADDED_HERE]


def toy_d1(n_patients: int = 24, rows: int = 32, cols: int = 8, seed: int = 0,
           classes: tuple[str, ...] = CLASSES) -> Dataset:
    """A tiny D1 held in memory, without files: for tests and examples of the array-level code.

    Patients cycle through ``classes`` (both views share the class); each image is a noisy vertical
    "body" band with a bright square per metastasis (anywhere) and per arthritis (near the bottom),
    and the matching boxes.
    """
    rng = np.random.default_rng(seed)
    X, rows_meta = [], []
    yy, xx = np.mgrid[0:rows, 0:cols]
    for p in range(n_patients):
        label = classes[p % len(classes)]
        for view in ("anterior", "posterior"):
            img = 0.2 + 0.3 * np.exp(-((xx - cols / 2) / (cols / 4)) ** 2) + 0.05 * rng.random((rows, cols))
            boxes, diseases = [], []
            kinds = {"M": ["metastasis"], "A": ["arthritis"], "M&A": ["metastasis", "arthritis"]}.get(label, [])
            for kind in kinds:
                s = max(1, rows // 16)
                y0 = int(rng.integers(0, rows // 2)) if kind == "metastasis" else int(rng.integers(3 * rows // 4, rows - s))
                x0 = int(rng.integers(0, cols - s))
                img[y0:y0 + s, x0:x0 + s] = 1.0
                boxes.append((x0, y0, x0 + s, y0 + s))
                diseases.append(kind)
            X.append(((img - img.min()) / (img.max() - img.min())).astype(np.float32))
            rows_meta.append({"patient": f"P{p:03d}", "view": view, "label": label,
                              "boxes": np.array(boxes, np.float32).reshape(-1, 4), "diseases": diseases})
    return from_arrays(np.stack(X), pd.DataFrame(rows_meta), "D1")
