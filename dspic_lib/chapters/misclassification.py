"""Where dSPIC-AM goes wrong on D2, and where it looks (chapter 06, the paper's Figs 12-13).

The paper shows three hand-picked misclassified test scans (Fig. 12: a normal scan called arthritic, a
metastatic one called normal, an arthritic one called normal) and two M&A scans with their top-1 and
top-2 probabilities (Fig. 13). Here the choice is computed: every mistake of the run is counted by
type, and for each of the paper's three types the *most confident* mistake is shown (the one whose
wrong class got the highest probability), with its lesion boxes and a Grad-CAM map
(:mod:`dspic_lib.evaluation.explain`). Every M&A test scan is listed with its top-1 and top-2 probabilities beside
the paper's two. The pointing game asks, of the diseased test scans the network got right, how often
the maximum of its map falls inside a lesion box.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dspic_lib.errors import DataError
from dspic_lib.evaluation import metrics
from dspic_lib.vocab import CLASS_NAMES, OUTPUTS

CELL = ("dSPIC-AM", "D2")
# The paper's Fig. 12: (true class, predicted class), in its order a, b, c
PAPER_FAILURES = (("N", "A"), ("M", "N"), ("A", "N"))
ADJECTIVE = {"N": "normal", "M": "metastatic", "A": "arthritic"}
NOUN = {"N": "normal", "M": "metastatic", "A": "arthritic"}


def failure_name(true: str, pred: str) -> str:
    return f"{ADJECTIVE[true]} called {NOUN[pred]}"


def test_images(ctx, run):
    """The test images of a stored run (the patient split's test part, the same patients for D1, D2 and
    D3) with their preprocessed pixels and boxes, read by id from the ``preprocessed`` entry of ``ctx``'s
    lineage: nothing is scanned, decoded or split again."""
    from dspic_lib.pipeline import datasets, lineage
    from dspic_lib.pipeline.preprocess import read_rows

    entry = ctx.store.get(lineage.of(ctx).preprocessed_key())
    if entry is None:                  # a store without it: the scan and Eq. 1, once
        lineage.of(ctx).cohort_and_d1()
        entry = ctx.store.get(lineage.of(ctx).preprocessed_key())
    meta = run.test_meta.reset_index(drop=True).copy()
    X, boxes, diseases = read_rows(entry, meta["image"].tolist())
    meta["boxes"], meta["diseases"] = boxes, diseases
    return datasets.from_arrays(X, meta, "D1")


def check_same_images(run, test) -> None:
    if run.test_meta["image"].tolist() != test.meta["image"].tolist():
        raise DataError(f"the stored run of {run.model} on {run.dataset} was tested on other images than the "
                        "patient split gives now; rerun `dspic run table5`")


def failures(run) -> pd.DataFrame:
    """Every (true, predicted) pair of the 3-class test images with its count; the paper's three types
    first, flagged, then the other mistakes, then the right answers."""
    y, p = metrics.three_class(run.y_true, run.proba)
    cm = metrics.confusion(y, metrics.predict(p))
    rows = []
    for t in OUTPUTS:
        for q in OUTPUTS:
            rows.append({"true class": CLASS_NAMES[t], "predicted": CLASS_NAMES[q],
                         "type": "right" if t == q else failure_name(t, q),
                         "in the paper's Fig. 12": (t, q) in PAPER_FAILURES,
                         "images": int(cm.loc[t, q]), "share of the true class": cm.loc[t, q] / max(1, cm.loc[t].sum())})
    table = pd.DataFrame(rows)
    order = np.where(table["in the paper's Fig. 12"], 0, np.where(table["type"] == "right", 2, 1))
    return table.assign(_o=order).sort_values(["_o", "images"], ascending=[True, False]).drop(columns="_o") \
        .reset_index(drop=True)


def most_confident_mistakes(run, per_type: int = 1) -> pd.DataFrame:
    """For each of the paper's failure types, the ``per_type`` test images of that type whose wrong class
    got the highest probability (rows: position in the test part, type, true, predicted, P(N), P(M), P(A));
    a type without any image has no row."""
    y = run.y_true
    pred = metrics.predict(run.proba)
    rows = []
    for t, q in PAPER_FAILURES:
        idx = np.flatnonzero((y == t) & (pred == q))
        idx = idx[np.argsort(-run.proba[idx, OUTPUTS.index(q)], kind="stable")][:per_type]
        for i in idx:
            rows.append({"position": int(i), "type": failure_name(t, q), "true": t, "predicted": q,
                         **{f"P({c})": float(run.proba[i, k]) for k, c in enumerate(OUTPUTS)}})
    return pd.DataFrame(rows, columns=["position", "type", "true", "predicted", *[f"P({c})" for c in OUTPUTS]])


def paper_types_missing(mistakes: pd.DataFrame) -> list[str]:
    return [failure_name(t, q) for t, q in PAPER_FAILURES if failure_name(t, q) not in set(mistakes["type"])]


def ma_table(run) -> pd.DataFrame:
    """Every M&A test image: its top-1 and top-2 classes and probabilities, and whether the top-2 rule
    credits it; the paper's two M&A images (Fig. 13) as extra rows from targets.json."""
    from dspic_lib import paper

    t = metrics.top2(run.y_true, run.proba)
    ours = pd.DataFrame({"scan": [f"this run, test scan {k + 1}" for k in range(len(t))],
                         "top-1": t["top1"].to_numpy(), "P(top-1)": t["p_top1"].to_numpy(),
                         "top-2": t["top2"].to_numpy(), "P(top-2)": t["p_top2"].to_numpy(),
                         "right by the top-2 rule": t["correct"].to_numpy()})
    fig13 = paper.targets()["fig13_top_probabilities"]
    theirs = pd.DataFrame({"scan": [f"the paper, Fig. 13 scan {k + 1}" for k in range(len(fig13["top1"]))],
                           "top-1": "M", "P(top-1)": fig13["top1"], "top-2": "A", "P(top-2)": fig13["top2"],
                           "right by the top-2 rule": True})
    return pd.concat([theirs, ours], ignore_index=True).set_index("scan")


def ma_sentence(table: pd.DataFrame) -> str:
    ours = table[table.index.str.startswith("this run")]
    theirs = table[table.index.str.startswith("the paper")]
    paper_part = (f"The paper's {len(theirs)} M&A scans had top-1 probabilities of "
                  f"{' and '.join(f'{v:.2f}' for v in theirs['P(top-1)'])} for metastasis and top-2 probabilities of "
                  f"{' and '.join(f'{v:.2f}' for v in theirs['P(top-2)'])} for arthritis.")
    if ours.empty:
        return paper_part + " This run's test part holds no M&A scan."
    right = int(ours["right by the top-2 rule"].sum())
    return (paper_part + f" In this run, {right} of the {len(ours)} M&A test scans {'has' if right == 1 else 'have'} "
            "metastasis and arthritis "
            "as their two most probable classes; their top-1 probabilities range from "
            f"{ours['P(top-1)'].min():.2f} to {ours['P(top-1)'].max():.2f}.")


def right_and_diseased(run) -> np.ndarray:
    """Positions of the test images with a disease that the run got right (arg-max for M and A, the
    top-2 rule for M&A): the images the pointing game scores."""
    y = run.y_true
    pred = metrics.predict(run.proba)
    ok = np.zeros(len(y), bool)
    ok[(y == "M") | (y == "A")] = (pred == y)[(y == "M") | (y == "A")]
    both = np.flatnonzero(y == metrics.BOTH)
    if len(both):
        ok[both] = metrics.top2(y, run.proba)["correct"].to_numpy()
    return np.flatnonzero(ok)


def diseased(run) -> np.ndarray:
    return np.flatnonzero(np.isin(run.y_true, ["M", "A", "M&A"]))


def failure_sentence(run) -> str:
    """The paper's three failure types in this run, each counted against its true class."""
    y, p = metrics.three_class(run.y_true, run.proba)
    cm = metrics.confusion(y, metrics.predict(p))
    parts = []
    for t, q in PAPER_FAILURES:
        n, total = int(cm.loc[t, q]), int(cm.loc[t].sum())
        parts.append(f"{n} of the {total} {ADJECTIVE[t]} test scans {'was' if n == 1 else 'were'} called {NOUN[q]}")
    wrong = int(cm.to_numpy().sum() - np.trace(cm.to_numpy()))
    return (f"Of the paper's three failure types, in this run {'; '.join(parts)}. In all, {wrong} of the "
            f"{int(cm.to_numpy().sum())} single-class test scans were misclassified.")


def missing_sentence(mistakes: pd.DataFrame) -> str | None:
    missing = paper_types_missing(mistakes)
    if not missing:
        return None
    return (f"This run made no mistake of type {', '.join(missing)}, so the figure has no example of "
            f"{'it' if len(missing) == 1 else 'them'}.")


def pointing(model, run, test, positions, tolerance_px: float) -> pd.DataFrame:
    """Pointing-game tables of Grad-CAM (the class the network chose) and of the first CBAM spatial
    attention map (when the network has one) on the test images at ``positions``; rows (map, class)."""
    from dspic_lib.evaluation import explain

    X = test.X[positions]
    boxes = [np.asarray(test.meta["boxes"].iloc[i], dtype=np.float32).reshape(-1, 4) for i in positions]
    labels = run.y_true[positions]
    tables = {"Grad-CAM": explain.pointing_game(explain.grad_cam(model, X), boxes, labels, tolerance_px)}
    if explain.attention_blocks(model):
        tables["CBAM spatial attention"] = explain.pointing_game(
            explain.attention_map(model, X, explain.attention_blocks(model)[0]), boxes, labels, tolerance_px)
    return pd.concat(tables, names=["map", "class"])


def pointing_sentence(table: pd.DataFrame | None, what: str, tolerance_px: float) -> str:
    if table is None or table.empty:
        return f"No {what}: the pointing game has nothing to score."
    parts = []
    for name in table.index.get_level_values("map").unique():
        r = table.loc[(name, "all")]
        parts.append(f"{int(r['hits'])} ({r['hit rate']:.0%}) with {name}")
    base = table.loc[(table.index.get_level_values("map")[0], "all")]
    return (f"Of {int(base['images'])} {what}, the maximum of the map falls inside a lesion box (enlarged by "
            f"{tolerance_px:.0f} px) for {', '.join(parts)}; a map that always points at the image centre "
            f"scores {int(base['baseline hits'])} ({base['baseline hit rate']:.0%}).")


POINTING_DECIMALS = {"hit rate": 3, "baseline hit rate": 3}


def paper_types_line(failures: pd.DataFrame) -> str:
    """What nbval compares for the failure table: how many (true, predicted) pairs and scans it holds,
    and how many of the pairs are the paper's types."""
    paper_types = int(failures["in the paper's Fig. 12"].sum())
    return (f"{len(failures)} (true, predicted) pairs over {failures['images'].sum()} single-class test scans; "
            f"{paper_types} of the pairs are the paper's types")


def _grad_cam(model, X, class_index=None):
    from dspic_lib.evaluation import explain  # TensorFlow: only when there is a scan to explain

    return explain.grad_cam(model, X, class_index=class_index)


def mistakes_figure(model, run, test, mistakes: pd.DataFrame):
    """The paper's Fig. 12 for this run: each most confident mistake (:func:`most_confident_mistakes`)
    with Grad-CAM of the class the network chose; without any, the first test scan, saying so."""
    from dspic_lib.plots import explain as plots_explain

    pos = mistakes["position"].to_numpy()
    cams = _grad_cam(model, test.X[pos], [OUTPUTS.index(c) for c in mistakes["predicted"]]) if len(pos) else []
    return plots_explain.panel_of_test_scans(
        test.X, test.meta, pos, cams, [plots_explain.prediction_title(run.y_true[i], run.proba[i]) for i in pos],
        f"no mistake of the paper's types\n(true {run.y_true[0]})")


def both_diseases(run, most: int | None = None) -> list[int]:
    """Positions of the M&A test images, at most ``most`` of them."""
    return [int(i) for i in np.flatnonzero(run.y_true == metrics.BOTH)][:most]


def both_diseases_figure(model, run, test):
    """The paper's Fig. 13 for this run: the M&A test scans (one row at most) with Grad-CAM of their most
    probable class; without any, the first test scan, saying so."""
    from dspic_lib.plots import explain as plots_explain

    both = both_diseases(run, plots_explain.MAX_PER_ROW)
    cams = _grad_cam(model, test.X[both]) if both else []
    return plots_explain.panel_of_test_scans(
        test.X, test.meta, both, cams, [plots_explain.prediction_title(metrics.BOTH, run.proba[i]) for i in both],
        "this run's test part\nholds no M&A scan")


POINTING_GAMES = ("right", "all")


def pointing_games(model, run, test, tolerance_px: float, store=None) -> dict[str, pd.DataFrame | None]:
    """The pointing game (:func:`pointing`) on the diseased test scans the run got right (``"right"``) and
    on every diseased test scan (``"all"``); ``None`` where there is no such scan.

    With ``store`` the tables are an entry of the result store (``pointing``, made from the run's entry:
    its weights and test images), so re-executing chapter 06 reads them instead of computing Grad-CAM
    and the attention maps of every diseased test scan again."""
    def compute() -> dict[str, pd.DataFrame | None]:
        return {label: pointing(model, run, test, positions, tolerance_px) if len(positions) else None
                for label, positions in zip(POINTING_GAMES, (right_and_diseased(run), diseased(run)))}

    if store is None:
        return compute()

    def write(folder: Path) -> None:
        for label, table in compute().items():
            if table is not None:
                table.to_csv(folder / f"{label}.csv")

    key = store.key("pointing", {"tolerance_px": float(tolerance_px)}, code=[pointing_games],
                    parents=[run.entry_id])
    entry = store.get_or_compute(key, write)
    return {label: pd.read_csv(entry.path / f"{label}.csv", index_col=[0, 1])
            if (entry.path / f"{label}.csv").is_file() else None for label in POINTING_GAMES}


def attention_example(run) -> int:
    """The test scan the Grad-CAM / attention figure shows: the first diseased scan the run got right,
    else the first diseased scan, else the first scan."""
    for positions in (right_and_diseased(run), diseased(run)):
        if len(positions):
            return int(positions[0])
    return 0


BODY_SHARE = 0.05    # the body: pixels (lightly smoothed) above this share of the scan's maximum


def body_mask(image: np.ndarray, share: float = BODY_SHARE) -> np.ndarray:
    """The body of a whole-body scan: pixels whose 5 x 5 mean exceeds ``share`` of the image's maximum
    (the empty field around the patient holds background counts only), holes filled."""
    from scipy import ndimage

    img = np.asarray(image, dtype=np.float32)
    top = float(img.max()) if img.size else 0.0
    if top <= 0:
        return np.zeros(img.shape, dtype=bool)
    return ndimage.binary_fill_holes(ndimage.uniform_filter(img, 5) > share * top)


def peak_outside_body(image: np.ndarray, heat: np.ndarray, share: float = BODY_SHARE) -> tuple[int, int] | None:
    """``(row, col)`` on the image of the maximum of ``heat`` (a map at the image's or a coarser
    resolution, scaled onto the image) when it lies outside :func:`body_mask`; ``None`` when the map
    peaks on the body or is flat (no peak)."""
    heat = np.asarray(heat, dtype=float)
    image = np.asarray(image)
    if not heat.size or not np.isfinite(heat).any() or np.nanmax(heat) == np.nanmin(heat):
        return None
    r, c = np.unravel_index(int(np.nanargmax(heat)), heat.shape)
    rows, cols = image.shape[:2]
    row = min(int((r + 0.5) * rows / heat.shape[0]), rows - 1)
    col = min(int((c + 0.5) * cols / heat.shape[1]), cols - 1)
    return None if body_mask(image, share)[row, col] else (row, col)


def outside_body_note(image: np.ndarray, maps: dict[str, np.ndarray | None], share: float = BODY_SHARE) -> str:
    """A caption sentence for maps that peak outside the body (:func:`peak_outside_body`): where, and
    that the map is then no reading of the skeleton; or that every map peaks on the body."""
    rows = np.asarray(image).shape[0]
    outside = {name: at for name, m in maps.items() if m is not None
               for at in [peak_outside_body(image, m, share)] if at is not None}
    body = f"pixels above {share:.0%} of the scan's maximum"
    if not outside:
        return f"Each map peaks on the body ({body})."
    where = "; ".join(f"{name} at row {r + 1} of {rows}, "
                      f"{'below the feet' if r >= 0.9 * rows else 'above the head' if r < 0.1 * rows else 'beside the body'}"
                      for name, (r, c) in outside.items())
    return (f"The {' and the '.join(outside)} map{'s' if len(outside) > 1 else ''} peak{'' if len(outside) > 1 else 's'} "
            f"outside the body ({body}): {where}. There the scan holds background counts only, so that "
            "maximum says nothing about the skeleton.")


def cam_attention(model, run, test, example: int):
    """One test scan plain, under Grad-CAM and under the first attention module's spatial map (none when
    the network has no attention module), and its caption sentence (:func:`outside_body_note`)."""
    from dspic_lib.evaluation import explain
    from dspic_lib.plots import explain as plots_explain

    x = test.X[example:example + 1]
    blocks = explain.attention_blocks(model)
    att = explain.attention_map(model, x, blocks[0])[0] if blocks else None
    cam = explain.grad_cam(model, x)[0]
    fig = plots_explain.attention_vs_gradcam(
        x[0, ..., 0], cam, att, test.meta["boxes"].iloc[example],
        box_colors=test.meta["diseases"].iloc[example],
        title=plots_explain.prediction_title(run.y_true[example], run.proba[example]).replace("\n", ", "))
    return fig, outside_body_note(x[0, ..., 0], {"Grad-CAM": cam, "attention": att})


def cam_attention_figure(model, run, test, example: int):
    """:func:`cam_attention` without its caption sentence."""
    return cam_attention(model, run, test, example)[0]
