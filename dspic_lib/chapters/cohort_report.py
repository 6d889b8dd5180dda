"""Tables and checks of chapter 01 (the cohort): counts beside the paper's, lesion sites, the leakage check.

They read the paper's numbers, so they live above the data layer (which reads files only).

Nothing here prints or returns header identifiers: patients appear only as counts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

from dspic_lib.data.cohort import Cohort
from dspic_lib.paper import targets
from dspic_lib.vocab import CLASSES, DISEASES, UNLABELLED


def class_counts(cohort: Cohort) -> pd.DataFrame:
    """Images and patients per class, this run beside the paper (Dataset section). Unlabelled images
    (in the table, or left out of it by ``Cohort.labelled``) get a row of their own, never counted as
    N; a binary cohort's classes have no paper count ("-")."""
    paper = targets()["cohort"]["classes_images"]
    t = cohort.all_rows()
    classes = [*cohort.classes] + ([UNLABELLED] if (t["label"] == UNLABELLED).any() else [])
    images = t["label"].value_counts().reindex(classes, fill_value=0)
    patients = t.groupby("label")["patient"].nunique().reindex(classes, fill_value=0)
    out = pd.DataFrame({
        "images (this run)": images.astype(int),
        "images (paper)": pd.Series(paper).reindex(classes).astype("Int64"),
        "patients (this run)": patients.astype(int),
    })
    out.index.name = "class"
    out.loc["total"] = [int(images.sum()), int(sum(paper.values())), int(t["patient"].nunique())]
    paper_type = int if out["images (paper)"].notna().all() else "Int64"
    return out.astype({"images (this run)": int, "images (paper)": paper_type, "patients (this run)": int})


def hottest_pixel(cohort: Cohort) -> pd.DataFrame:
    """Per class: the median maximum count, and where the hottest pixel of each image lies: inside one
    of its lesion boxes, or elsewhere (bladder, kidneys, injection site, normal bone)."""
    t = cohort.table
    inside = [any(b[0] <= c + 0.5 <= b[2] and b[1] <= r + 0.5 <= b[3] for b in (les.box for les in lesions))
              for r, c, lesions in zip(t["max_row"], t["max_col"], t["lesions"])]
    df = pd.DataFrame({"label": t["label"], "max": t["max_count"], "in lesion": inside})
    g = df.groupby("label")
    out = pd.DataFrame({"images": g.size(), "median maximum count": g["max"].median(),
                        "hottest pixel in a lesion box": g["in lesion"].mean()})
    return out.reindex([c for c in cohort.classes if c in out.index]).rename_axis("class")


def hottest_pixel_text(hottest: pd.DataFrame) -> str:
    """What :func:`hottest_pixel` shows, in a sentence written from its numbers."""
    def share(c):
        return f"{hottest.at[c, 'hottest pixel in a lesion box']:.0%}" if c in hottest.index else "-"

    medians = hottest["median maximum count"]
    if not {"M", "N"} <= set(hottest.index):
        return (f"Not computed: the comparison needs M and N images, and this cohort has "
                f"{', '.join(hottest.index) or 'no labelled image'}.")
    ratio = medians.get("M", np.nan) / medians.get("N", np.nan)
    lead = (f"In this cohort the hottest pixel lies inside a lesion box in {share('M')} of the M images and "
            f"{share('A')} of the A images; the median maximum of M images is {ratio:.1f} times that of N "
            "images. ")
    if np.isfinite(ratio) and ratio > 1.3:
        return lead + ("So the maximum that Eq. 1 divides by is often a lesion itself, and it differs between "
                       "classes: the scale of a normalized image carries some information about its class.")
    return lead + "So the maximum that Eq. 1 divides by is mostly not a lesion, and it is similar between classes."


def leakage_text(leak: pd.DataFrame, margin: float = 0.05) -> str:
    """The leakage check's verdict, from its numbers: the non-lesion classifier against always answering
    the most frequent class (balanced accuracy, ``margin`` above it counts as a leak)."""
    lr, chance = leak.iloc[0], leak.iloc[1]
    if not np.isfinite(lr["balanced accuracy"]):
        return ("Not computed: fewer than 4 labelled patients, or a single class, is too few to "
                "cross-validate, so the check says nothing here.")
    head = (f"Non-lesion features: accuracy {lr['accuracy']:.3f} (balanced {lr['balanced accuracy']:.3f}); "
            f"always the most frequent class: {chance['accuracy']:.3f} (balanced {chance['balanced accuracy']:.3f}). ")
    if lr["balanced accuracy"] <= chance["balanced accuracy"] + margin:
        return head + "The class cannot be read from them better than by always guessing the most frequent class."
    return head + "**The class can be read from them**: a model could score without looking at the lesions."


def realism(cohort: Cohort, per_class: int = 5) -> tuple[pd.DataFrame, dict]:
    """Scans of this cohort against pydicom's two real GE whole-body bone scans, on the phantom's
    physical statistics (:mod:`dspic_lib.data.phantom.realism`): up to ``per_class`` patients of each
    class with both views. One row per (class, view) with the median of each statistic and the share
    of images inside the allowed range (within 25 % of the real scans' range; profile r >= 0.9); the
    real scans and the allowed ranges first. Also returns the two real scans and both views of the
    first normal patient (else the first patient), for the figure. A cohort with no labelled patient
    with both views gives the real scans' rows and images only."""
    from dspic_lib.data.cohort import iter_pixels
    from dspic_lib.data.phantom import realism as rl

    t = cohort.table
    both = [p for p, views in t.groupby("patient", sort=False)["view"] if {"anterior", "posterior"} <= set(views)]
    chosen = [p for c in CLASSES for p in [q for q in both if t.loc[t["patient"] == q, "label"].iat[0] == c][:per_class]]
    rows = [i for p in chosen for i in t.index[t["patient"] == p]]
    pixels = dict(iter_pixels(cohort, rows))
    long = rl.compare({f"{i}": pixels[i] for i in rows})
    real = long[long["kind"] == "real"]
    stats = list(dict.fromkeys(long["statistic"]))
    top = real.pivot_table(index="image", columns="statistic", values="value", sort=False)[stats]
    top.index = pd.MultiIndex.from_tuples([("real GE scan", i) for i in top.index])
    lim = real.groupby("statistic")[["allowed_min", "allowed_max"]].first()
    allowed = pd.DataFrame([[f"{lim.at[c, 'allowed_min']:.3g} to {lim.at[c, 'allowed_max']:.3g}" for c in stats]],
                           columns=stats, index=pd.MultiIndex.from_tuples([("allowed range", "")]))
    parts = [top.astype(object), allowed]
    if rows:
        parts.append(_realism_of_cohort(long[long["kind"] != "real"], t, stats).astype(object))
    out = pd.concat(parts)
    out.index.names = ["class", "view"]
    out = out.rename(columns={"body_coverage": "body coverage", "hot1_share": "hottest 1 % share",
                              "spine_to_body": "spine / body", "profile_r": "profile r",
                              "all four in range": "all 4 in range"})
    images = {f"real GE scan, {k}": v for k, v in rl.real_ge_scans().items()}
    if chosen:
        normal = [p for p in chosen if t.loc[t["patient"] == p, "label"].iat[0] == "N"] or chosen
        images.update({f"synthetic {t.at[i, 'label']}, {t.at[i, 'view']}": pixels[i]
                       for i in t.index[t["patient"] == normal[0]]})
    return out, images


def _realism_of_cohort(mine: pd.DataFrame, t: pd.DataFrame, stats: list[str]) -> pd.DataFrame:
    """Per (class, view): the median of each statistic, the images, and the share with all four in range."""
    mine = mine.copy()
    mine["class"] = [t.at[int(i), "label"] for i in mine["image"]]
    mine["view"] = [t.at[int(i), "view"] for i in mine["image"]]
    table = mine.pivot_table(index=["class", "view"], columns="statistic", values="value", aggfunc="median")[stats]
    per_image = mine.drop_duplicates("image").set_index("image")[["class", "view"]]
    per_image["ok"] = mine.groupby("image")["ok"].all()
    table["images"] = per_image.groupby(["class", "view"]).size()
    table["all four in range"] = per_image.groupby(["class", "view"])["ok"].mean()
    order = [(c, v) for c in CLASSES for v in ("anterior", "posterior") if (c, v) in table.index]
    return table.loc[order]


def sex_age(cohort: Cohort) -> pd.DataFrame:
    """One row per patient: sex and age (for Fig. 1)."""
    t = cohort.table
    return t.groupby("patient", sort=True)[["sex", "age"]].first().reset_index(drop=True)


def sex_counts(cohort: Cohort) -> pd.DataFrame:
    paper = targets()["cohort"]
    per_patient = sex_age(cohort)
    counts = per_patient["sex"].fillna("unknown").value_counts()
    out = pd.DataFrame({"patients (this run)": [int(counts.get("F", 0)), int(counts.get("M", 0))],
                        "patients (paper)": [paper["female"], paper["male"]]}, index=["female", "male"])
    if counts.get("unknown", 0):
        out.loc["unknown"] = [int(counts["unknown"]), 0]
    out.index.name = "sex"
    return out


def lesions_long(cohort: Cohort) -> pd.DataFrame:
    """One row per annotated lesion: class of its image, view, disease, site."""
    rows = [(r.label, r.view, les.disease, les.site) for r in cohort.table.itertuples() for les in r.lesions]
    return pd.DataFrame(rows, columns=["label", "view", "disease", "site"])


def lesion_sites(cohort: Cohort) -> pd.DataFrame:
    """Lesions per site and disease (Fig. 2), most frequent first."""
    long = lesions_long(cohort)
    kinds = [*DISEASES, *sorted(set(long["disease"]) - set(DISEASES))]
    table = pd.crosstab(long["site"], pd.Categorical(long["disease"], kinds), dropna=False)
    table.columns.name = None
    table["total"] = table.sum(axis=1)
    return table.sort_values(["total"], ascending=False, kind="stable")


def top_sites(cohort: Cohort) -> pd.DataFrame:
    """The paper's most frequent sites (Fig. 2) beside this run's, per disease."""
    paper = targets()["cohort"]["lesion_sites_top"]
    long = lesions_long(cohort)
    rows = []
    for cls, disease in (("M", "metastasis"), ("A", "arthritis")):
        want = paper[cls]
        ranked = long.loc[long["disease"] == disease, "site"].value_counts()
        rows.append({"disease": disease, "most frequent (paper)": ", ".join(want),
                     "most frequent (this run)": ", ".join(ranked.index[: len(want)])})
    return pd.DataFrame(rows).set_index("disease")


# --------------------------------------------------------------------------------------- leakage
def body_features(counts: np.ndarray) -> dict[str, float]:
    """Non-lesion features measured on one image: total counts, body length, width and area, bladder.

    Measured on 4 x 4 block sums (fast, and coarser than any focal lesion): the body is where the
    smoothed image exceeds 15 % of its typical in-body level; the bladder is the hottest block of the
    smoothed image in the midline window at 40-55 % of the body's length."""
    img = np.asarray(counts, np.float32)
    k = 4
    rows_k, cols_k = img.shape[0] // k, img.shape[1] // k
    small = img[: rows_k * k, : cols_k * k].reshape(rows_k, k, cols_k, k).sum(axis=(1, 3))
    smooth = ndimage.gaussian_filter(small, 0.75)
    level = smooth[smooth > smooth.mean()].mean()
    body = smooth > 0.15 * level
    rows = np.flatnonzero(body.any(axis=1))
    cols = np.flatnonzero(body.any(axis=0))
    top, bottom = (rows[0], rows[-1]) if len(rows) else (0, rows_k - 1)
    profile = small.sum(axis=0)
    mid = int(round(float((profile * np.arange(cols_k)).sum() / max(float(profile.sum()), 1e-6))))
    length = bottom - top + 1
    r0, r1 = top + int(0.40 * length), top + int(0.55 * length) + 1
    window = ndimage.gaussian_filter(small, 1.5)[r0:r1, max(mid - 6, 0): mid + 7]
    return {"total_counts": float(img.sum(dtype=np.float64)), "body_length_px": float(length * k),
            "body_area_px": float(body.sum() * k * k), "body_width_px": float(len(cols) * k),
            "bladder_peak": float(window.max()) / (k * k) if window.size else 0.0}


def nonlesion_features(cohort: Cohort, *, progress: bool = False) -> pd.DataFrame:
    """Per image: total counts, bladder peak, body size (measured), age and sex (from the table)."""
    from dspic_lib.data.cohort import iter_pixels

    t = cohort.table
    feats: list[dict | None] = [None] * len(t)
    for i, counts in iter_pixels(cohort, progress=progress, desc="features"):
        feats[i] = body_features(counts)
    out = pd.DataFrame(feats, index=t.index)
    out["age"] = t["age"].astype(float)
    out["female"] = (t["sex"] == "F").astype(float)
    out["posterior"] = (t["view"] == "posterior").astype(float)
    return out


def leakage_check(cohort: Cohort, features: pd.DataFrame, *, folds: int = 5, seed: int = 0) -> pd.DataFrame:
    """Can the class be predicted from non-lesion features? Cross-validated (grouped by patient)
    logistic regression beside the majority-class baseline: near-equal numbers mean no leak. Unlabelled
    images are left out; with fewer than 4 labelled patients or one class the numbers are NaN."""
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, cross_validate
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labelled = (cohort.table["label"] != UNLABELLED).to_numpy()
    t, features = cohort.table[labelled], features[labelled]     # unlabelled images have no class to predict
    y = t["label"].to_numpy()
    if t["patient"].nunique() < 4 or len(set(y)) < 2:
        return pd.DataFrame({"accuracy": [np.nan, np.nan], "balanced accuracy": [np.nan, np.nan],
                             "folds": [0, 0]},
                            index=pd.Index(["logistic regression on non-lesion features",
                                            "chance: always the most frequent class"], name="model"))
    X = features.copy()
    for col in ("total_counts", "bladder_peak", "body_area_px"):
        X[col] = np.log1p(X[col])
    X = X.fillna(X.median(numeric_only=True)).to_numpy(float)
    per_class = pd.Series(y).value_counts()
    n_splits = int(max(2, min(folds, per_class.min() if per_class.min() >= 2 else folds,
                              t["patient"].nunique() // 2)))
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    scoring = ["accuracy", "balanced_accuracy"]
    models = {
        "logistic regression on non-lesion features": make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=2000)),
        "chance: always the most frequent class": DummyClassifier(strategy="most_frequent"),
    }
    rows = []
    import warnings

    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # tiny classes in some folds (M&A) under small cohorts
            res = cross_validate(model, X, y, groups=t["patient"].to_numpy(), cv=cv, scoring=scoring)
        rows.append({"model": name, "accuracy": round(float(res["test_accuracy"].mean()), 3),
                     "balanced accuracy": round(float(res["test_balanced_accuracy"].mean()), 3),
                     "folds": n_splits})
    return pd.DataFrame(rows).set_index("model")
