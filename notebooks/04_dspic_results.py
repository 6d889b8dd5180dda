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
# # dSPIC on D1, D2 and D3: Tables 5 and 6, Figures 8 and 9
#
# Does augmentation help dSPIC, and which of its two added modules does better? The paper trains
# dSPIC-AM (attention module) and dSPIC-RM (residual module) on each dataset of the previous chapter and
# reports five metrics on the test images (Tables 5 and 6), the training curves of dSPIC-AM (Fig. 8) and
# its per-class results on D2 (Fig. 9). This chapter trains the same six cells, checks first whether
# each network learned anything at all, and only then puts each number of the paper beside this run's,
# with a margin fixed in advance deciding whether it is reproduced.

# %% tags=["parameters"]
profile = "smoke"
data_dir = None
results_dir = None
seed = None
overrides = {}

# %%
from IPython.display import Markdown, display

from dspic_lib.chapters import present
from dspic_lib.chapters import setup as chapter
from dspic_lib.evaluation import results
from dspic_lib.plots import results as plots_results

ch = chapter.setup(profile, data_dir, results_dir, seed, overrides)
ch.banner()
res = results.load(["table5", "table6"], ch.ctx)
P = ch.profile

# %% [markdown]
# ## How the networks were trained in this run
#
# Every cell is trained the same way (`dspic_lib.pipeline.train`): Adam, categorical cross-entropy on the three
# softmax outputs (an M&A scan has the target split equally over M and A), at most the profile's number
# of epochs, from He-normal weights on a standardised input (chapter 3). A share of the *training*
# patients is held out for validation; after each epoch their loss, accuracy and balanced accuracy are
# measured, and the weights kept are those of the epoch the profile's stopping rule picks from those
# validation numbers alone (table below). The test patients, the same for all datasets, are predicted
# once, at the end. The settings of this run, beside the paper's (Table 4):

# %%
display(present.table(results.training_settings(P), "training-settings"))

# %% [markdown]
# What each run cost, as measured (the variance runs of dSPIC-AM on D2 are the extra seeds; see below):

# %%
display(present.table(results.run_costs(res), "run-costs", decimals={"seconds": 0, "s / epoch": 1}))

# %% [markdown]
# The paper's setting would cost far more. Estimated from the measured seconds per epoch of each
# dSPIC run, scaled by epochs and by the networks' floating-point operations per image (chapter 3);
# the estimate assumes the same throughput per operation, which a larger input rarely lowers:

# %%
display(present.table(results.cost_estimates(res), "cost-estimates", decimals=1))

# %% [markdown]
# ## Did the networks learn?
#
# A network stuck on one class can still post numbers near the paper's (an accuracy equal to the
# majority class's share, an AUC from ranking alone), so no number is compared before its run passes
# the **learned gate**: the lower end of the 95 % interval of its balanced accuracy (the mean
# sensitivity over N, M and A) lies above chance, 1/3, and the lower end of the 95 % interval of its
# accuracy minus that of always predicting the test part's majority class lies above 0. Both intervals
# come from a bootstrap over the test patients, the second paired (both predictors scored on the same
# resampled patients). AUC plays no part in the gate. A cell with any seed that fails it *did not
# learn*: its numbers are shown, but not compared with the paper's.

# %%
display(present.table(res.gate_table(), "learned-gate", decimals=3))

# %% [markdown]
# ## How much a seed moves the numbers
#
# The paper reports one run per cell. To know how far a number may move by chance, dSPIC-AM on D2 is
# trained with several seeds (each changes the initial weights, the validation patients and the order of
# the batches; the test patients stay the same). Their spread, with the bootstrap over test patients,
# makes the interval of every comparison below: for a cell, the 90 % interval of (this run's mean over
# its seeds - the paper's value) is the difference plus or minus 1.645 standard errors, the squared
# standard error being the bootstrap variance plus the seed variance divided by the number of seeds (a
# cell trained with one seed borrows the seed variance measured here). A number is *reproduced* when
# that interval lies inside the margin fixed in advance (0.05 for accuracy, precision, sensitivity,
# specificity and F1; 0.03 for AUC), *not reproduced* when it lies wholly outside, else
# *inconclusive*: more noise can only make a verdict inconclusive.

# %%
display(present.table(results.seed_spread(res), "seed-spread", decimals=4))
display(Markdown(" ".join(results.variance_notes(res))))

# %% [markdown]
# ## dSPIC-AM (the paper's Table 5)

# %%
from dspic_lib.chapters import verdicts

t5 = verdicts.table(res, "table5")
display(t5.table())

# %% tags=["nbval-check-output", "remove-cell"]
print(t5.check)

# %% [markdown]
# ## dSPIC-RM (the paper's Table 6)

# %%
t6 = verdicts.table(res, "table6")
display(t6.table())

# %% tags=["nbval-check-output", "remove-cell"]
print(t6.check)

# %%
majority = results.majority_reference(res, ("dSPIC-AM", "D2"))
present.figure("fig-table56", plots_results.paper_vs_run(results.verdicts_wide(res, ["table5", "table6"]),
                                                         reference=majority))
present.caption("majority-56", results.majority_caption(majority))
present.caption("learned-56", results.learned_caption(res, [(m, d) for m in ("dSPIC-AM", "dSPIC-RM")
                                                           for d in ("D1", "D2", "D3")]))

# %% [markdown]
# ```{glue:figure} fig-table56
# :name: fig-table56
# :alt: For dSPIC-AM and dSPIC-RM on D1, D2 and D3, the accuracy and F1 of this run as bars with the paper's value marked beside each, and a dashed line at what always predicting the majority class scores.
#
# Tables 5 and 6 at a glance: accuracy and F1 of this run (bars) and the paper's values (markers), for
# each network and dataset. {glue:md}`majority-56` {glue:md}`learned-56`
# ```
#
# ## Training and validation curves (the paper's Fig. 8)
#
# The paper's Fig. 8 shows dSPIC-AM's training and testing curves; here the loss of the training images,
# the loss and accuracy of the validation patients, per epoch, with the epoch whose weights were kept:

# %%
present.figure("fig-curves", plots_results.training_curves(
    [res.run("dSPIC-AM", d) for d in ("D1", "D2", "D3")]))

# %% [markdown]
# ```{glue:figure} fig-curves
# :name: fig-curves
# :alt: Two panels of curves per epoch for dSPIC-AM on D1, D2 and D3: left the training and validation loss, right the validation accuracy, with the selected epoch of each run marked.
#
# Training of dSPIC-AM on D1, D2 and D3 (the paper's Fig. 8). Left: loss of the training images
# (solid) and of the validation patients (dashed); right: validation accuracy. The marked epoch is the
# one whose weights were kept.
# ```

# %%
present.figure("fig-curves-rm", plots_results.training_curves(
    [res.run("dSPIC-RM", d) for d in ("D1", "D2", "D3")]))

# %% [markdown]
# ```{glue:figure} fig-curves-rm
# :name: fig-curves-rm
# :alt: The same curves for dSPIC-RM on D1, D2 and D3.
#
# The same for dSPIC-RM (the paper shows no curves for it).
# ```
#
# ## What the initialisation costs and buys
#
# Chapter 3 chose He-normal weights and a standardised input because under Keras' default the untrained
# networks cannot tell one image from another. Here that choice is priced: dSPIC-AM on D1 trained from
# both starts, everything else equal (data, split, seed, budget, stopping rule).

# %%
from dspic_lib.pipeline import experiments

starts = experiments.init_comparison(ch.ctx)
present.figure("fig-init-curves", plots_results.training_curves(
    list(starts.values()), labels=[results.INIT_LABELS.get(k, k) for k in starts]))
init_costs = results.init_table(starts, P.bootstrap_resamples, P.seed)
display(present.table(init_costs, "init-costs", decimals={"seconds": 0, "test accuracy": 3,
                                                          "balanced accuracy": 3, "its 95 % lower end": 3}))
display(Markdown(results.init_sentence(init_costs)))

# %% [markdown]
# ```{glue:figure} fig-init-curves
# :name: fig-init-curves
# :alt: Two panels of curves per epoch for dSPIC-AM on D1 from two starts, He-normal with a standardised input and Keras' default Glorot-uniform: left the training and validation loss, right the validation accuracy.
#
# dSPIC-AM on D1 from the two starts of chapter 3: loss of the training images (solid) and of the
# validation patients (dashed), left; validation accuracy, right; the kept epoch of each run marked.
# ```
#
# ## dSPIC-AM on D2, class by class (the paper's Fig. 9)

# %%
am_d2 = res.run("dSPIC-AM", "D2")
present.figure("fig-per-class", plots_results.per_class_metrics(am_d2))
display(present.table(results.per_class_table(am_d2), "per-class", decimals=4))

# %% [markdown]
# ```{glue:figure} fig-per-class
# :name: fig-per-class
# :alt: Left, bars of precision, sensitivity, specificity and F1 for the normal, metastasis and arthritis classes; right, the confusion matrix of the test images.
#
# dSPIC-AM on D2 (the paper's Fig. 9): per-class metrics (left) and the confusion matrix of the
# 3-class test images (right; rows are the true class). The M&A scans are not in it: they are scored
# by the top-2 rule below.
# ```
#
# The M&A test scans (both diseases) are scored by the top-2 rule: correct when M and A are the two most
# probable outputs. The paper does not say how it scored them.

# %%
display(present.table(results.top2_table(res), "top2", decimals=3))

# %% [markdown]
# ## Verdicts
#
# Every number of Tables 5 and 6, and the paper's claims that rest on them, checked on this run. A
# claim is a difference between two cells on the same test patients, with a paired bootstrap 95 %
# interval: *supported* when it lies wholly on the paper's side of 0, *contradicted* when wholly on the
# other side, *not settled* when it straddles 0; a claim resting on a cell that did not learn is not
# settled, and says which cell:

# %%
closing = verdicts.summary(res, ["table5", "table6"],
                           ["D1->D2", "beats dSPIC-RM", "beats DCGAN generation (D3)"])
display(*closing.tables())

# %% tags=["nbval-check-output", "remove-cell"]
print(closing.check)

# %% [markdown]
# ## What happened in this run

# %%
closing.show(ch)

# %% tags=["remove-input"]
ch.done()   # rewrites the banner at the top: now with every stored result this page showed
