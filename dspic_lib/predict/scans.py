"""Predict N, M, A for scans with a model folder written by ``dspic train`` (``dspic predict``).

**Inputs.** DICOM files (NM, one or two frames, native or compressed: :func:`dspic_lib.data.dicom.read_nm`,
any size) and PNG/JPEG pictures (:func:`dspic_lib.data.pictures.read_picture`), or folders of them
(searched recursively; hidden files, files without an image suffix and links to folders are skipped and
counted, :func:`skipped_summary`; a file named on the command line is always tried). A file that cannot
be read, or a symbolic link loop, is a failure with its reason; the others are still predicted. An
image of the same patient with the same pixels as one before it is dropped with ``dspic data scan``'s
warning, so that a copied file does not weigh twice in its patient's mean.

**Preprocessing** comes from the model card (:mod:`dspic_lib.predict.card`): its function and its
resolution, never a profile's.

**One row per image** (a two-frame file gives two): ``file``, ``frame``, ``patient`` (a pseudonym:
a keyed hash of the header's PatientID, see :func:`pseudonymizer`), ``view`` (or ``unknown``),
``p_N``, ``p_M``, ``p_A``, ``top1``, ``top2``, ``m_and_a`` (the paper's top-2 rule: the two most
probable outputs are M and A); a binary model (``task`` ``binary`` in its card, trained on a public
collection) gives ``p_normal``, ``p_abnormal`` and ``top1`` instead, no ``top2`` nor ``m_and_a``;
``warnings`` (the input checks of :mod:`dspic_lib.predict.checks` and the
reader's notes). **One row per patient** (``level`` = ``patient``): the mean of the probabilities of
that patient's images (its views), then the same top-1 / top-2 / M&A rules; ``combined`` says how many
images were averaged.

**Explanations** (``explain_dir``): a Grad-CAM PNG of each image's predicted class, named by row,
pseudonym and view (:func:`explain_name`), listed in an ``explain`` column.

**Identifiers.** Names, IDs and dates from the headers never reach the output (nor PNG file names). With ``keep_ids`` a
``patient_id`` column holds the header's PatientID (for pictures: the id their layout gives).

**Patients of pictures**: BS-80K's ``wholeBodyANT/<id>.jpg`` and the PNG collection's
``<class>/Anterior/A<n>.png`` give patient and view; any other picture is a patient of its own, named by
its folder relative to the input folder and its file name without ANT/POST words (``x/0001_ant.png``
and ``x/0001_post.png`` are one patient, ``siteA/scan.png`` and ``siteB/scan.png`` two).

**Outputs** are written to a temporary name and renamed (:func:`dspic_lib.outputs.atomic_write`); CSV
text cells that a spreadsheet would run as a formula are escaped (:func:`csv_safe`).
"""
from __future__ import annotations

import io
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dspic_lib.data.cohort import exact_copy_warning, pixel_stats, shared_pixels_warning
from dspic_lib.data.identity import KEY_ENV, KEY_FILE, pseudonymizer  # noqa: F401  (one function: scan, chapters, predict)
from dspic_lib.errors import DataError
from dspic_lib.outputs import atomic_write
from dspic_lib.vocab import OUTPUTS, UNKNOWN_VIEW

OTHER_SUFFIX = "not a scan or an annotation"      # data.cohort.walk's reason for any other suffix
BATCH_SIZE = 32
COMBINE_RULE = ("patient rows: the mean of the probabilities of the patient's images (views), then the "
                "same top-1, top-2 and M&A rules")
LOOP = "symbolic link loop"


# ------------------------------------------------------------------------------------ input files
@dataclass(frozen=True)
class Source:
    path: Path
    shown: str          # the path as the output names it (as given, or given folder / relative path)
    root: Path | None = None     # the input folder it was found in (None: named on the command line)


def find_inputs(inputs: Iterable[str | Path], skipped: list | None = None) -> tuple[list[Source], list[tuple[str, str]]]:
    """The files to predict, in order (each once), and ``(input, reason)`` for inputs that cannot be
    tried (missing, a symbolic link loop). ``skipped``: a list that receives ``(path, reason)`` of each
    file of the folders that is not tried (hidden, DICOMDIR, compressed, another suffix, a link to a folder), so that
    nothing is left out without being counted; folders are walked by :func:`dspic_lib.data.cohort.walk`,
    the walk of ``dspic data scan``, with pictures read as images."""
    found, problems, seen = [], [], set()
    skipped = [] if skipped is None else skipped
    for item in inputs:
        path = Path(item)
        try:
            path.resolve(strict=False)
        except (RuntimeError, OSError):
            problems.append((str(item), LOOP))
            continue
        root = None
        if path.is_dir():
            from dspic_lib.data.cohort import PROBLEM, READ_IMAGE, SKIPPED, walk

            root, files = path, []
            for e in walk(path, pictures=True):      # the one walk: the same reasons as `dspic data scan`
                if e.kind == READ_IMAGE:
                    files.append(e.path)
                elif e.kind == SKIPPED:
                    skipped.append((str(e.path), e.reason))
                elif e.kind == PROBLEM:
                    problems.append((str(e.path), e.reason))
                else:                                 # annotations and tables are not predicted
                    skipped.append((str(e.path), f"not an image ({e.kind})"))
        elif path.is_file():
            files = [path]
        elif path.is_symlink():
            files = [path]                # a dangling link or a loop: its reason comes below / from the reader
        else:
            problems.append((str(item), "no such file or folder"))
            continue
        for f in files:
            try:
                real = f.resolve(strict=False)
            except (RuntimeError, OSError):          # Python 3.11: RuntimeError("Symlink loop from ...")
                problems.append((str(f), LOOP))
                continue
            if real not in seen:
                seen.add(real)
                found.append(Source(f, str(f), root))
    return found, problems


def skipped_summary(skipped: list[tuple[str, str]]) -> str:
    """``skipped 4 files in the input folders: 2 not a scan or an annotation (.pdf, .txt), 1 hidden file, ...``."""
    if not skipped:
        return ""
    counts: dict[str, list[str]] = {}
    for path, why in skipped:       # "not a scan or an annotation (.pdf)": one count over the suffixes
        counts.setdefault(why.split(" (")[0] if why.startswith(OTHER_SUFFIX) else why, []).append(path)
    parts = []
    for why, paths in sorted(counts.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        extra = ""
        if why == OTHER_SUFFIX:
            extra = " (" + ", ".join(sorted({Path(p).suffix.lower() or "no suffix" for p in paths})[:8]) + ")"
        parts.append(f"{len(paths)} {why}{extra}")
    n = len(skipped)
    return f"skipped {n} file{'s' if n != 1 else ''} in the input folders: " + ", ".join(parts)


# ------------------------------------------------------------------------------------ reading
@dataclass
class Image:
    """One image ready for the model."""

    source: Source
    frame: int
    view: str
    patient_id: str
    x: np.ndarray                    # (rows, cols) float32 in [0, 1]
    warnings: list[str] = field(default_factory=list)
    digest: str = ""                 # of the decoded counts: finds exact copies (data/cohort.py's)


_VIEW_WORD = re.compile(r"(?<![a-z])(ant|anterior|post|posterior)(?![a-z])", re.I)


def _under(folder: Path, root: Path | None) -> str:
    """``folder`` relative to the input folder ``root``, as ``a/b/`` (empty at the root or without one)."""
    if root is None:
        return ""
    try:
        rel = folder.relative_to(root).as_posix()
    except ValueError:
        return ""
    return "" if rel in ("", ".") else rel + "/"


def _picture_identity(path: Path, root: Path | None = None) -> tuple[str, str]:
    """(patient id, view) of a picture from the public layouts, else from its file name without
    ANT/POST words; the folder relative to the input folder ``root`` is part of the patient, so that
    ``siteA/scan.png`` and ``siteB/scan.png`` are two patients."""
    from dspic_lib.data import dicom, public

    parent = path.parent.name.lower()
    for view, (folder, _) in public.BS80K_VIEWS.items():
        if parent == folder.lower():
            return _under(path.parent.parent, root) + path.stem, view
    view = public.PNG_VIEW_FOLDERS.get(parent)
    match = re.fullmatch(r"[AP](\d+)", path.stem, re.I)
    if view and match:
        return f"{_under(path.parent.parent.parent, root)}{path.parent.parent.name}/{int(match.group(1))}", view
    stem = _VIEW_WORD.sub("", path.stem.replace("_", " ")).strip(" -.") or path.stem
    return _under(path.parent, root) + stem, dicom.text_view(path.stem) or UNKNOWN_VIEW


def _dicom_bits(data: bytes) -> int | None:
    import pydicom

    try:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, specific_tags=["BitsStored", "BitsAllocated"])
        return int(ds.get("BitsStored", None) or ds.get("BitsAllocated", None))
    except Exception:
        return None


def read_source(src: Source, *, preprocess, shape, train_stats: dict) -> list[Image]:
    """Decode, check and preprocess one file: one :class:`Image` per frame. Raises DataError."""
    from dspic_lib.data import dicom, pictures
    from dspic_lib.predict.checks import check, image_stats

    try:
        data = src.path.read_bytes()
    except OSError as err:
        raise DataError(f"{src.path.name}: unreadable file ({err.strerror or err})") from None
    frames = []
    if pictures.is_picture(src.path):
        counts, notes = pictures.read_picture(src.path, data=data)
        patient_id, view = _picture_identity(src.path, src.root)
        fmt = src.path.suffix.lower().lstrip(".").upper().replace("JPG", "JPEG")
        frames.append((0, view, counts, notes))
        bits = pictures.picture_bits(data)
    else:
        info, images = dicom.read_nm(src.path, shape=None, data=data)
        patient_id, fmt = info.patient_id, "DICOM"
        frames += [(img.frame, img.view, img.pixels, img.notes) for img in images]
        bits = _dicom_bits(data)
    out = []
    for frame, view, counts, notes in frames:
        stats = image_stats(counts, fmt=fmt, bits_stored=bits)
        warnings = check(stats, train_stats) + [f"read: {n}" for n in notes]
        name = src.path.name + (f" (frame {frame})" if len(frames) > 1 else "")
        x = preprocess(counts, shape, name)
        out.append(Image(src, frame, view, patient_id, np.asarray(x, np.float32), warnings,
                         pixel_stats(counts)["digest"]))
    return out


def _ordered(fn, items: list, workers: int, window: int) -> Iterator:
    """``fn(item)`` for each item, in order, computed by ``workers`` threads at most ``window`` ahead
    (``workers`` 0: in the calling thread, one at a time)."""
    if workers <= 0:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        it = iter(items)
        for item in it:
            pending.append(pool.submit(fn, item))
            if len(pending) >= window:
                break
        while pending:
            yield pending.popleft().result()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(pool.submit(fn, nxt))


# ------------------------------------------------------------------------------------ the model
def predictor(model, shape) -> Callable[[np.ndarray], np.ndarray]:
    """``X (n, rows, cols) -> softmax (n, classes)``: the model in inference mode as one traced graph
    (one trace for every batch size)."""
    from dspic_lib._tf import tf

    spec = tf.TensorSpec((None, int(shape[0]), int(shape[1]), 1), tf.float32)
    fn = tf.function(lambda x: model(x, training=False), input_signature=[spec])

    def run(X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, np.float32)
        return fn(tf.constant(X[..., None] if X.ndim == 3 else X)).numpy()

    return run


def predict_arrays(model, X: np.ndarray, batch_size: int = BATCH_SIZE, run=None) -> np.ndarray:
    """Probabilities of preprocessed images ``X`` (n, rows, cols), in batches of ``batch_size``: what
    :func:`predict_files` computes once the images are read."""
    run = run or predictor(model, X.shape[1:3])
    out = [run(X[i:i + batch_size]) for i in range(0, len(X), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, model.output_shape[-1]), np.float32)


# ------------------------------------------------------------------------------------ rows
def _rules(proba: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """top1, top2 and the M&A flag of each row, by the rule of :func:`dspic_lib.evaluation.metrics.top2`; for a
    binary model (normal, abnormal) top1 only: the arg-max, a tie going to the first class (normal)."""
    from dspic_lib.evaluation.metrics import BOTH, top2
    from dspic_lib.vocab import BINARY_CLASSES

    if tuple(classes) == BINARY_CLASSES:
        names = np.asarray(classes, dtype=object)
        return pd.DataFrame({"top1": names[np.argmax(proba, axis=1)].astype(str) if len(proba) else []})
    if tuple(classes) != OUTPUTS:
        raise DataError(f"the model's outputs are {classes}; the top-2 rule needs {', '.join(OUTPUTS)}")
    t = top2(np.full(len(proba), BOTH, dtype=object), proba)
    return pd.DataFrame({"top1": t["top1"].to_numpy(), "top2": t["top2"].to_numpy(),
                         "m_and_a": t["correct"].to_numpy(dtype=bool)})


def image_rows(images: list[Image], proba: np.ndarray, classes: list[str], pseudonym, keep_ids: bool) -> pd.DataFrame:
    df = pd.DataFrame({"level": "image", "file": [im.source.shown for im in images],
                       "frame": [im.frame for im in images],
                       "patient": [pseudonym(im.patient_id) for im in images]})
    if keep_ids:
        df["patient_id"] = [im.patient_id for im in images]
    df["view"] = [im.view for im in images]
    for k, c in enumerate(classes):
        df[f"p_{c}"] = proba[:, k].astype(np.float64) if len(proba) else []
    df = pd.concat([df, _rules(proba, classes)], axis=1)
    df["combined"] = ""
    df["warnings"] = ["; ".join(im.warnings) for im in images]
    return df


def patient_rows(images: pd.DataFrame, classes: list[str], keep_ids: bool) -> pd.DataFrame:
    """One row per patient: the mean of its images' probabilities, then the same rules."""
    cols = [f"p_{c}" for c in classes]
    rows = []
    for patient, g in images.groupby("patient", sort=False):
        p = g[cols].to_numpy(np.float64).mean(axis=0)
        views = sorted(set(g["view"]), key=lambda v: (v == UNKNOWN_VIEW, v))
        row = {"level": "patient", "file": "", "frame": "", "patient": patient}
        if keep_ids:
            row["patient_id"] = g["patient_id"].iloc[0]
        row.update({"view": "+".join(views), **dict(zip(cols, p))})
        n_warn = int((g["warnings"] != "").sum())
        row.update(combined=f"mean of {len(g)} image{'s' if len(g) != 1 else ''}",
                   warnings="" if not n_warn else "its image has warnings" if len(g) == 1 else
                   f"{n_warn} of its {len(g)} images {'has' if n_warn == 1 else 'have'} warnings")
        rows.append(row)
    df = pd.DataFrame(rows, columns=[c for c in images.columns if c not in ("top1", "top2", "m_and_a")])
    if len(df):
        rules = _rules(df[cols].to_numpy(np.float64), classes)
        df = pd.concat([df.reset_index(drop=True), rules], axis=1)[list(images.columns)]
    else:
        df = pd.DataFrame(columns=images.columns)
    return df


@dataclass
class Result:
    images: pd.DataFrame
    patients: pd.DataFrame
    failed: list[tuple[str, str]]      # (file, reason)
    card: dict
    dropped: list[tuple[str, str]] = field(default_factory=list)   # (file, warning): exact copies left out

    @property
    def table(self) -> pd.DataFrame:
        return pd.concat([self.images, self.patients], ignore_index=True)


def _reason(err: Exception, src: Source) -> str:
    text = str(err)
    prefix = f"{src.path.name}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def explain_name(index: int, patient: str, view: str) -> str:
    """The PNG of image ``index`` (its row among the image rows, from 0): row, pseudonym and view, so
    that neither a header value nor a file name (which may carry one) reaches the file name."""
    return f"img{index:05d}_{patient}_{view}.png"


def _explain(model, images: list, proba: np.ndarray, classes: list[str], pseudonym, folder: Path, start: int) -> list[str]:
    """Grad-CAM of each image's predicted class (:func:`dspic_lib.evaluation.explain.grad_cam`) drawn over it
    (:func:`dspic_lib.plots.explain.overlay_panel`), one PNG per image; returns the file names."""
    from matplotlib import pyplot as plt

    from dspic_lib.evaluation.explain import grad_cam
    from dspic_lib.plots.explain import overlay_panel

    X = np.stack([im.x for im in images])
    top = proba.argmax(axis=1)
    maps = grad_cam(model, X, class_index=[int(k) for k in top])
    names = []
    for k, (im, cam) in enumerate(zip(images, maps)):
        probs = " ".join(f"{c}{v:.2f}".replace("0.", ".", 1) for c, v in zip(classes, proba[k]))
        title = f"{im.view}\npred {classes[top[k]]}\n{probs}"
        fig = overlay_panel([im.x], [cam], [np.zeros((0, 4))], [title],
                            map_label=f"Grad-CAM of {classes[top[k]]} (max = 1)")
        name = explain_name(start + k, pseudonym(im.patient_id), im.view)
        try:                     # a temporary name, then renamed: never a half PNG
            atomic_write(folder / name, writer=lambda tmp, fig=fig: fig.savefig(tmp, format="png"))
        finally:
            plt.close(fig)
        names.append(name)
    return names


def predict_files(loaded, sources: list[Source], *, batch_size: int = BATCH_SIZE, keep_ids: bool = False,
                  pseudonym=None, workers: int | None = None, progress: bool = True,
                  on_failure: Callable[[str, str], None] | None = None, explain_dir: Path | None = None) -> Result:
    """Read, check, preprocess and predict ``sources`` with a :class:`~dspic_lib.predict.card.Loaded` model.

    Files are decoded and preprocessed by ``workers`` threads (default 2; 0: in this thread, between
    model calls) while the model runs on the previous batch; probabilities do not depend on
    ``workers``. ``explain_dir``: also write a Grad-CAM PNG per image there (:func:`explain_name`),
    named in an ``explain`` column. An image of the same patient with the same pixels as one before it
    (a copy of a file) is left out, with ``dspic data scan``'s warning, in ``Result.dropped``: a
    patient's mean counts each image once."""
    from tqdm import tqdm

    pseudonym = pseudonym or pseudonymizer()
    workers = 2 if workers is None else int(workers)
    stats = loaded.card["input_statistics"]

    def read(src):
        try:
            return src, read_source(src, preprocess=loaded.preprocess, shape=loaded.shape, train_stats=stats), None
        except DataError as err:
            return src, None, _reason(err, src)
        except Exception as err:     # a reader tripping over a damaged file in an unforeseen way
            return src, None, f"unreadable ({type(err).__name__}: {str(err)[:200]})"

    run = loaded.cache.get("predictor") or loaded.cache.setdefault("predictor", predictor(loaded.model, loaded.shape))
    images: list[Image] = []
    probas: list[np.ndarray] = []
    failed: list[tuple[str, str]] = []
    dropped: list[tuple[str, str]] = []
    first: dict[tuple[str, str], str] = {}        # (patient id, pixel digest) -> where it was first seen
    owner: dict[str, tuple[str, str]] = {}         # pixel digest -> (patient id, where) of its first image
    batch: list[Image] = []

    explained: list[str] = []
    if explain_dir is not None:
        Path(explain_dir).mkdir(parents=True, exist_ok=True)

    def flush():
        if batch:
            probas.append(run(np.stack([im.x for im in batch])))
            if explain_dir is not None:
                explained.extend(_explain(loaded.model, batch, probas[-1], loaded.classes, pseudonym,
                                          Path(explain_dir), len(images)))
            for im in batch:
                im.x = None              # the batch is predicted: keep the row, free the pixels
            images.extend(batch)
            batch.clear()

    bar = tqdm(total=len(sources), desc="predicting", unit="file", disable=not progress, leave=False)
    for src, got, reason in _ordered(read, sources, workers, window=2 * batch_size):
        bar.update(1)
        if reason is not None:
            failed.append((src.shown, reason))
            if on_failure:
                on_failure(src.shown, reason)
            continue
        for im in got:
            where = im.source.shown + (f" (frame {im.frame})" if im.frame else "")
            kept = first.setdefault((im.patient_id, im.digest), where)
            if kept != where:
                dropped.append((where, exact_copy_warning(kept)))
                if on_failure:
                    on_failure(where, dropped[-1][1])
                continue
            pid, at = owner.setdefault(im.digest, (im.patient_id, where))
            if pid != im.patient_id:        # kept (which patient is right cannot be known), but said
                im.warnings.append(shared_pixels_warning(at))
            batch.append(im)
            if len(batch) >= batch_size:
                flush()
    flush()
    bar.close()
    classes = loaded.classes
    proba = np.concatenate(probas) if probas else np.zeros((0, len(classes)), np.float32)
    img = image_rows(images, proba, classes, pseudonym, keep_ids)
    patients = patient_rows(img, classes, keep_ids)
    if explain_dir is not None:
        img["explain"] = explained
        patients["explain"] = ""
    return Result(img, patients, failed, loaded.card, dropped)


# ------------------------------------------------------------------------------------ output
def card_summary(card: dict) -> dict:
    """What a predictions file says about the model that made it."""
    return {"name": card["model"]["name"], "sha256": card["model"]["sha256"],
            "trained_on": {"dataset": card["training"]["dataset"], "synthetic": card["data"]["synthetic"],
                           "data_fingerprint": card["data"]["fingerprint"]},
            "input": card["input"], "preprocessing": card["preprocessing"]["function"],
            "git_commit": card["provenance"]["git_commit"] + ("+dirty" if card["provenance"]["dirty"] else "")}


def to_json(result: Result) -> dict:
    def records(df):
        return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
                for r in df.astype(object).to_dict("records")]

    return {"model": card_summary(result.card), "classes": result.card["classes"],
            "m_and_a_rule": result.card["m_and_a_rule"], "combine_rule": COMBINE_RULE,
            "images": records(result.images), "patients": records(result.patients),
            "failed": [{"file": f, "reason": r} for f, r in result.failed],
            "dropped": [{"file": f, "warning": w} for f, w in result.dropped],
            "summary": {"files": len({*result.images["file"], *(f for f, _ in result.failed)}),
                        "images": len(result.images), "patients": len(result.patients),
                        "failed": len(result.failed), "dropped": len(result.dropped)}}


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """The table with every text cell that a spreadsheet would take for a formula (it begins with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) prefixed with ``'``, as OWASP advises
    against CSV injection (a PatientID ``=HYPERLINK(...)`` under ``--keep-ids``, a file name). Only
    text cells: numbers such as -0.5 in the probability columns are left as they are."""
    out = df.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = [f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_START) else v for v in out[col]]
    return out
