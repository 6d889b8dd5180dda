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
# # Beyond the paper: leakage, uncertainty, calibration and a multi-label head
#
# The paper reports one number per metric and cell, from one split of the *images* made after
# augmentation, with a softmax that must name one disease. Four questions it leaves open are answered
# here with the same code and data as the results chapters: how much that split inflates the numbers,
# how far each number may move by chance, whether the network's probabilities mean what they say, and
# whether independent outputs for the two diseases name M&A scans better than the top-2 rule. A fifth
# follows from how D2 is built: what its class proportions do to the predictions, and whether undoing
# them helps. Every sentence with a number below is computed from this run.

# %% tags=["parameters"]
profile = "smoke"
data_dir = None
results_dir = None
seed = None
overrides = {}

# %%
from IPython.display import Markdown, display

from dspic_lib.chapters import beyond, present
from dspic_lib.chapters import setup as chapter
from dspic_lib.plots import prior as plots_prior
from dspic_lib.plots import stats as plots_stats

ch = chapter.setup(profile, data_dir, results_dir, seed, overrides)
ch.banner()
b = beyond.run(ch.ctx)

# %% [markdown]
# ## Did the networks behind these analyses learn?
#
# Every analysis below rests on trained networks, and one that did not learn can only show how an
# untrained network behaves. Each run is put through chapter 4's learned gate (its balanced accuracy
# must beat chance and its accuracy must beat always predicting the majority class, both by the lower
# end of their intervals over the test patients), and each analysis compares nothing for a run that
# failed it. A sigmoid head is judged on its three-class reading (N when neither output is on, M or A when
# one is).

# %%
display(present.table(beyond.gate_table(b), "chapter7-gate", decimals=3))
ch.finding(beyond.gate_sentence(b))

# %% [markdown]
# ## How much the paper's protocol inflates its numbers
#
# The paper enlarges its data first and then splits the images at random into training and test
# images. A test scan can then have its other view, or a mirrored or shifted copy of itself, in the
# training images, and a network can score well by recognising the patient instead of the disease.
# Here dSPIC-AM is trained on D2 twice, all else equal: once under that protocol, once with the
# patients split first and only the training patients augmented (the protocol of every other chapter).
# Each interval is a bootstrap over the test *patients* of its own run; the difference gets an
# unpaired bootstrap, since the two test sets differ.

# %%
leak = beyond.leakage(b)
display(present.table(leak, "leakage", decimals=3))
ch.finding(beyond.leakage_sentence(b, leak))

# %%
present.figure("fig-leakage-protocols", plots_stats.interval_plot(
    beyond.leakage_frame(leak), xlabel="score on the test images",
    title="dSPIC-AM on D2 under two protocols"))

# %% [markdown]
# ```{glue:figure} fig-leakage-protocols
# :name: fig-leakage-protocols
# :alt: For each metric of dSPIC-AM on D2, the value and interval under the patient split and under the paper's image split, as points with horizontal bars.
#
# The same network and data under the two protocols: each metric with its interval from a bootstrap
# over the test patients, under the patient split (every other chapter) and the paper's image split.
# ```
#
# ## How sure we may be of each number
#
# The paper's Tables 5 and 6 give single numbers. Each number below comes with an interval: the
# bootstrap over test patients says how much the choice of test patients moves it. Where the run
# profile asks for it, the cell is also cross-validated (folds grouped by patient and stratified by
# class, repeated), and its interval uses the corrected resampled t of Nadeau and Bengio, which widens
# the naive interval because the folds' training sets overlap.

# %%
iv = beyond.intervals(b)
display(present.table(beyond.interval_table(iv), "intervals"))
display(Markdown(beyond.methods_note(b)))

# %%
present.figure("fig-intervals", plots_stats.interval_plot(
    beyond.interval_frame(iv), paper="paper", xlabel="score on the test images",
    title="Accuracy and F1 with their intervals"))

# %% tags=["nbval-check-output", "remove-cell"]
ends = iv[["low", "high"]].dropna()
print(f"{len(iv)} intervals of {iv['metric'].nunique()} metrics; every end within [0, 1]: "
      f"{bool(((ends >= 0) & (ends <= 1)).all().all())}")

# %% [markdown]
# ```{glue:figure} fig-intervals
# :name: fig-intervals
# :alt: Accuracy and F1 of dSPIC-AM and dSPIC-RM on D1 and D2 as points with interval bars, the paper's values as separate markers.
#
# Accuracy and F1 of the two dSPIC networks on D1 and D2 with their intervals (bootstrap over test
# patients, and cross-validation where the profile runs it), beside the paper's single values.
# ```
#
# ### A cross-validated interval beside its bootstrap twin
#
# The two kinds of interval answer different questions, so they need not agree; the table shows how
# far apart they are for the cell that was cross-validated.

# %%
tw = beyond.twin(b)
if tw is not None:
    display(present.table(tw, "cv-twin", decimals=3))
ch.finding(beyond.twin_sentence(b, tw))

# %% [markdown]
# ## The paper's claims, tested in pairs
#
# The paper ranks networks and datasets by their single numbers. Two cells tested on the same patients
# can be compared image by image: the difference of a metric (first cell minus second) with a paired
# bootstrap over test patients, or a corrected t-test over folds where both cells were cross-validated.
# A claim is *supported* when the accuracy interval lies above zero.

# %%
comp = beyond.comparisons(b)
display(present.table(comp.drop(columns="method").set_index(["claim", "metric"]), "comparisons", decimals=3))
for sentence in beyond.comparison_sentences(comp):
    ch.finding(sentence)

# %% tags=["nbval-check-output", "remove-cell"]
print(f"{len(comp)} paired differences for {comp['claim'].nunique()} claims")

# %% [markdown]
# ## Do the probabilities mean what they say?
#
# A network is *calibrated* when, among the images it calls with confidence *c*, a share *c* is right.
# The reliability diagram bins the test images by their top-1 probability; the expected calibration
# error is the mean gap between confidence and accuracy over the bins, weighted by their images.
# Temperature scaling divides the log-probabilities by one number fitted on the validation patients
# (never the test patients); it changes confidence, not the predicted class. M&A scans have no single
# right answer and are left out.

# %%
cal = beyond.calibration(b)
present.figure("fig-reliability", plots_stats.reliability_diagram(
    {"as trained": cal["before"], "after temperature scaling": cal["after"]},
    title=f"{cal['cell'][0]} on {cal['cell'][1]}"))
ch.finding(beyond.calibration_sentence(cal, b))

# %% [markdown]
# ```{glue:figure} fig-reliability
# :name: fig-reliability
# :alt: Reliability diagram: accuracy against top-1 confidence per bin for dSPIC-AM on D2, before and after temperature scaling, with the diagonal of perfect calibration.
#
# Reliability of dSPIC-AM on D2: accuracy of the test images in each bin of top-1 confidence, before and
# after temperature scaling; a calibrated network lies on the diagonal.
# ```
#
# ## Two diseases at once: the top-2 rule against independent outputs
#
# The paper's softmax must share one unit of probability between the classes, so it scores an M&A scan
# as correct when M and A are its two most probable classes (the top-2 rule). A head with one sigmoid
# output per disease can say "both" on its own. The same network is trained with such a head (binary
# cross-entropy, each disease present at probability one half or more) and compared image by image.

# %%
ml = beyond.multilabel(b)
display(present.table(ml, "multilabel", decimals=3))
ch.finding(beyond.multilabel_sentence(b, ml))

# %% [markdown]
# ## D2's class proportions, and undoing them
#
# D2 enlarges the training part to the proportions of the paper's Table 1, where N is a smaller share of
# the images than in the cohort, while the test part keeps the cohort's proportions. A network fitted on D2 learns D2's class
# priors and so calls N less often than the test part holds it. When both priors are known, Bayes' rule
# moves the outputs from one prior to the other (Saerens, Latinne & Decaestecker): each probability is
# multiplied by the ratio of the two priors of its class and the row renormalised. The priors come from the
# D2 build: the images the networks were fitted on, and those images' originals, with an M&A image
# counting half for M and half for A as the softmax is trained. Shares and accuracy are over the three-class
# test images (M&A left out, as in every table); balanced accuracy is the macro sensitivity over N, M, A.

# %%
if b.priors is None:
    display(Markdown(f"No {beyond.PRIOR_DATASET} cell was trained in this run, so there is no prior shift to show."))
else:
    display(present.table(beyond.prior_table(b), "prior-counts", decimals=3))
    prior_shares = beyond.prior_shares(b)
    prior_scores = beyond.prior_scores(b)
    display(present.table(prior_shares, "prior-shares", decimals=3))
    display(present.table(beyond.prior_score_table(prior_scores), "prior-scores"))
    for sentence in beyond.prior_sentences(b, prior_shares, prior_scores):
        ch.finding(sentence)
    present.figure("fig-prior-shift", plots_prior.prior_shift_bars(prior_shares))

# %% tags=["nbval-check-output", "remove-cell"]
if b.priors is not None:
    print(f"{len(beyond.prior_cells(b))} D2 cells; every share within [0, 1]: "
          f"{bool(((prior_shares >= 0) & (prior_shares <= 1)).all().all())}; "
          f"priors sum to 1: {bool(abs(b.priors.trained.sum() - 1) < 1e-9 and abs(b.priors.original.sum() - 1) < 1e-9)}")

# %% [markdown]
# ```{glue:figure} fig-prior-shift
# :name: fig-prior-shift
# :alt: For each network trained on D2, bars of the share of 3-class test images predicted N, M and A, as trained (top) and after the prior correction (bottom), with a black line on each bar at the true share of that class.
#
# What D2's class proportions do to the predictions: for each network trained on D2, the share of the
# 3-class test images predicted N, M and A, as trained and after the prior correction of Saerens et al.
# (2002); the black line on each bar is the class's true share among those images.
# ```

# %% [markdown]
# ## What did not work in this run

# %%
problems = beyond.stuck(b)
display(Markdown(beyond.gate_sentence(b) + " " + (" ".join(problems) if problems else
                 "Every extra run of this chapter predicted more than one class.")))

# %% tags=["remove-input"]
ch.done()
