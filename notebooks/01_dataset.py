# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The cohort: 768 whole-body bone scans
#
# What data does the paper work with (section "Dataset", Figs. 1, 2 and 4)? 384 patients imaged with
# Tc-99m MDP, an anterior and a posterior whole-body view each (1024 x 256 pixels, 16-bit counts),
# annotated in LabelMe with one shape per lesion; the image's class follows from its lesions:
# none = normal (N), metastases only (M), arthritis only (A), both (M&A).
#
# The paper's scans are private. Unless `data_dir` points at your own scans, this chapter runs on the
# synthetic cohort written by `dspic_lib.data.phantom` (same structure, same file formats, generated
# on first use), and the banner below says which one was used. The chapter prints counts and
# distributions only: no patient name, ID or date from any header.

# %% tags=["parameters"]
profile = "smoke"
data_dir = None
results_dir = None
seed = None

# %%
import numpy as np
import pandas as pd
from matplotlib import pyplot as plt

from dspic_lib import chapter, plots
from dspic_lib.data import cohort as cohort_mod
from dspic_lib.data import report

ch = chapter.setup(profile, data_dir, results_dir, seed)
print(ch.banner())
folder = cohort_mod.ensure_cohort(ch.profile, ch.data_dir, progress=False)
cohort = cohort_mod.scan(folder)
print(f"{len(cohort.table)} images of {cohort.table['patient'].nunique()} patients; "
      f"{len(cohort.problems)} file(s) could not be used")

# %% [markdown]
# ## Classes
#
# Images per class, this run beside the paper. The synthetic cohort is generated with the paper's
# per-patient class counts (167 N, 87 M, 126 A, 4 M&A patients, both views sharing the class) when it
# has the paper's 384 patients (profiles `cpu` and `paper`); the `smoke` profile's small cohort keeps
# the proportions, with at least one patient per class.

# %% tags=["nbval-check-output"]
report.class_counts(cohort)

# %% [markdown]
# Files that could not be used, if any (the problem, not the file name: a file name can carry a
# patient's name). `dspic data scan DIR` lists them with their files.

# %% tags=["nbval-check-output"]
if len(cohort.problems):
    print(cohort.problems["problem"].value_counts().to_string())
else:
    print("no problems: every file was read and every annotation checked")

# %% [markdown]
# ## Sex and age (Fig. 1)

# %% tags=["nbval-check-output"]
report.sex_counts(cohort)

# %%
plots.sex_age(report.sex_age(cohort));

# %% [markdown]
# ## Where the lesions are (Fig. 2)
#
# Every annotated shape, in both views. The paper reports vertebra, rib and femur as the most
# frequent metastatic sites and the knee for arthritis; in the synthetic cohort these frequencies are
# generator settings (`phantom.METASTASIS_SITES`, `phantom.ARTHRITIS_SITES`), so the agreement below
# says the phantom was set up like the paper's cohort, not that anything was discovered.

# %% tags=["nbval-check-output"]
report.top_sites(cohort)

# %%
sites = report.lesion_sites(cohort)
plots.lesion_sites(sites);

# %% tags=["nbval-check-output"]
per_image = cohort.table.groupby("label")["n_lesions"].describe()[["count", "mean", "min", "max"]]
per_image.reindex([c for c in plots.CLASS_ORDER if c in per_image.index]).round(2).astype({"count": int, "min": int, "max": int})

# %% [markdown]
# ## Intensity varies from scan to scan (Fig. 4)
#
# The hottest pixel of each image (often the bladder or an injection site, not a lesion) varies
# several-fold between scans. This is why Eq. 1 normalizes every image by its own minimum and maximum
# (chapter 02).

# %%
cohort.table["max_count"].describe()[["min", "25%", "50%", "75%", "max"]].astype(int).to_frame("maximum count")

# %%
plots.max_intensity(cohort.table);

# %% [markdown]
# ## What the scans look like
#
# One patient per class, anterior and posterior view, with the LabelMe boxes (red: metastasis, blue:
# arthritis). The posterior view is seen from behind: left and right swap, the spine and the
# scapulae come forward, while the sternum, the knees and the bladder are brighter in the anterior
# view.

# %%
t = cohort.table
pairs = []
for cls in plots.CLASS_ORDER:
    patients = t.loc[t["label"] == cls, "patient"].unique()
    if len(patients) == 0:
        continue
    rows = t[t["patient"] == patients[0]].set_index("view")
    if not {"anterior", "posterior"} <= set(rows.index):
        continue
    ant, post = (cohort_mod.load_pixels(cohort, rows.loc[v]) for v in ("anterior", "posterior"))
    pairs.append((cls, ant, post, rows.loc["anterior", "lesions"], rows.loc["posterior", "lesions"]))
plots.scan_pairs(pairs);

# %% [markdown]
# ## Leakage check: is the class readable without the lesions?
#
# A model should find the class in the lesions. If anything else told the classes apart (total counts,
# bladder activity, body size, age or sex), a classifier could score well without looking at a single
# lesion. Here a logistic regression gets only such features, measured per image (total counts,
# bladder peak, body length, width and area) plus age, sex and view, and is cross-validated with
# patients kept together; next to it, the classifier that always answers the most frequent class.

# %%
features = report.nonlesion_features(cohort)
leak = report.leakage_check(cohort, features, folds=ch.profile.cv_folds, seed=ch.seed)
leak

# %%
plots.leakage_features(features, cohort.table["label"], ["total_counts", "bladder_peak", "body_area_px", "age"]);

# %%
lr = leak.iloc[0]
chance = leak.iloc[1]
print(f"non-lesion features: accuracy {lr['accuracy']:.3f} (balanced {lr['balanced accuracy']:.3f}); "
      f"always the most frequent class: {chance['accuracy']:.3f} (balanced {chance['balanced accuracy']:.3f})")

# %% [markdown]
# ## Answer
#
# The cohort has the paper's structure: two views per patient, four classes with the paper's counts
# (under `cpu`/`paper`), the sex split of Fig. 1, lesion sites led by vertebra, rib and femur for
# metastasis and by the knee for arthritis (Fig. 2), and maximum intensities spread over a wide
# range (Fig. 4). The features a model should not use predict the class no better than always
# answering the most frequent class, so whatever the models of the next chapters learn, they learn
# from the lesions. On the synthetic cohort all of this holds by construction; on your own scans the
# same tables and the leakage check say whether it holds there.
