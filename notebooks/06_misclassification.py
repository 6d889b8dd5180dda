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
# # Where dSPIC goes wrong and where it looks: Figures 12 and 13
#
# The paper closes its results with three misclassified test scans of dSPIC-AM on D2, chosen by hand
# and explained by two physicians (Fig. 12: a normal scan called arthritic, a metastatic one called
# normal, an arthritic one called normal), and two scans with both diseases and their top-1 and top-2
# probabilities (Fig. 13). This chapter makes the same choices by computation on this run's dSPIC-AM on
# D2: it counts every mistake by type, shows the most confident mistake of each of the paper's three
# types with its lesion boxes and a Grad-CAM map of where the network looked, lists every M&A scan
# beside the paper's two, and asks how often the network's maps point at a lesion.

# %% tags=["parameters"]
profile = "smoke"
data_dir = None
results_dir = None
seed = None
overrides = {}

# %%
from IPython.display import Markdown, display

from dspic_lib.chapters import misclassification as misclass
from dspic_lib.chapters import present
from dspic_lib.chapters import setup as chapter
from dspic_lib.evaluation import explain, results

ch = chapter.setup(profile, data_dir, results_dir, seed, overrides)
ch.banner()
P = ch.profile
res = results.load(["table5"], ch.ctx)
run = res.run(*misclass.CELL)
test = misclass.test_images(ch.ctx, run)
misclass.check_same_images(run, test)
model = results.load_model(run, ch.ctx)

# %% [markdown]
# ## The mistakes, by type
#
# Every single-class test scan of dSPIC-AM on D2 by its true and predicted class; the paper's three
# types of Fig. 12 come first. (Scans with both diseases are scored by the top-2 rule, below.)

# %%
failures = misclass.failures(run)
display(present.table(failures, "failure-types", decimals={"share of the true class": 3}))
ch.finding(misclass.failure_sentence(run))

# %% tags=["nbval-check-output", "remove-cell"]
print(misclass.paper_types_line(failures))

# %% [markdown]
# ## The most confident mistake of each type (the paper's Fig. 12)
#
# Of each type, the scan whose wrong class got the highest probability: the mistake the network was
# surest of. On each, the heat map is Grad-CAM of the class the network chose, at its last
# convolutional layer (how strongly each place pushed the score of that class), and the rectangles are
# the annotated lesions.

# %%
mistakes = misclass.most_confident_mistakes(run)
display(present.table(mistakes.drop(columns="position").set_index("type"), "confident-mistakes", decimals=3))
missing = misclass.missing_sentence(mistakes)
if missing:
    display(Markdown(missing))
present.figure("fig-mistakes", misclass.mistakes_figure(model, run, test, mistakes))

# %% [markdown]
# ```{glue:figure} fig-mistakes
# :name: fig-mistakes
# :figclass: scan
# :alt: Whole-body test scans misclassified by dSPIC-AM on D2, one per failure type, each with a Grad-CAM heat map of the predicted class and rectangles around the annotated lesions; titles give the true class, the predicted class and the three probabilities.
#
# The paper's Fig. 12, chosen by computation: for each of its failure types, the test scan this run
# misclassified most confidently, with Grad-CAM of the predicted class (heat) and the annotated lesions
# (rectangles, coloured by disease). Titles: true class, predicted class, probabilities of N, M and A.
# ```
#
# ## Scans with both diseases (the paper's Fig. 13)
#
# The paper reports, for two scans with metastasis and arthritis, the probability of its top class
# (metastasis) and of its second (arthritis). Here every M&A test scan of this run is listed beside
# them; the top-2 rule credits a scan when metastasis and arthritis are its two most probable classes.

# %%
ma = misclass.ma_table(run)
display(present.table(ma, "ma-scans", decimals=2))
ch.finding(misclass.ma_sentence(ma))

# %%
present.figure("fig-ma-scans", misclass.both_diseases_figure(model, run, test))

# %% [markdown]
# ```{glue:figure} fig-ma-scans
# :name: fig-ma-scans
# :figclass: scan
# :alt: The M&A test scans of this run with Grad-CAM heat maps of their most probable class and their metastasis and arthritis lesions outlined.
#
# The paper's Fig. 13 for this run: the test scans with both diseases, Grad-CAM of their most probable
# class, and their lesions (rectangles coloured by disease). Titles: probabilities of N, M and A.
# ```
#
# ## Does the network look at the lesions? The pointing game
#
# A map *points* at a lesion when its maximum falls inside an annotated lesion box, enlarged on every
# side by a tolerance (the usual tolerance, scaled to this image width). The game is played on the
# diseased test scans the network got right, for Grad-CAM and for the spatial attention map of
# dSPIC-AM's attention module, against a map that always points at the centre of the scan. Because a
# short training run gets few scans right, the same game on every diseased test scan is shown too.

# %%
tol = explain.default_tolerance(P.cols)
games = misclass.pointing_games(model, run, test, tol, store=ch.store)
if games["right"] is not None:
    display(present.table(games["right"], "pointing-right", decimals=misclass.POINTING_DECIMALS))
ch.finding(misclass.pointing_sentence(games["right"], "diseased test scans classified right", tol))
if games["all"] is not None:
    display(present.table(games["all"], "pointing-all", decimals=misclass.POINTING_DECIMALS))
    display(Markdown(misclass.pointing_sentence(games["all"], "diseased test scans, right or wrong", tol)))

# %%
cam_fig, cam_note = misclass.cam_attention(model, run, test, misclass.attention_example(run))
present.figure("fig-cam-attention", cam_fig)
present.caption("cam-attention-note", cam_note)

# %% [markdown]
# ```{glue:figure} fig-cam-attention
# :name: fig-cam-attention
# :figclass: scan
# :alt: One diseased test scan shown three times: plain with its lesion boxes, with the Grad-CAM heat map, and with the spatial attention map of dSPIC-AM's attention module.
#
# Two ways to see where dSPIC-AM looks, on one diseased test scan (one it got right when there is
# one): Grad-CAM at the last convolutional layer, and the spatial attention map that its attention
# module multiplies into the features (Eq. 8). {glue:md}`cam-attention-note`
# ```

# %% tags=["remove-input"]
ch.done()
