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
# # dSPIC against other networks, and without pooling: Tables 8 and 9, Figures 10 and 11
#
# Is dSPIC-AM better than smaller networks with the same modules and than AlexNet, and what do its two
# pooling layers contribute? The paper trains the four SI_CLF networks and AlexNet of Table 7 on D2 and
# compares them with dSPIC-AM (Fig. 10, the AUC of Table 8, the confusion matrices of Fig. 11), then
# removes dSPIC-AM's pooling layers (Table 9). This chapter trains the same networks on the same D2 as
# the previous chapter and checks each number and claim.

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
from dspic_lib.pipeline.experiments import EXPERIMENTS
from dspic_lib.plots import results as plots_results

ch = chapter.setup(profile, data_dir, results_dir, seed, overrides)
ch.banner()
res = results.load(["table8", "table9"], ch.ctx)
compared = [m for m, _ in EXPERIMENTS["table8"]]
runs8 = [res.run(m, "D2") for m in compared]

# %% [markdown]
# ## Every network on D2 (the paper's Fig. 10)
#
# The networks are trained exactly as dSPIC in the previous chapter (same profile, seed, validation
# patients and test patients). Their metrics on the test images:

# %%
summ = res.summaries([(m, "D2") for m in compared]).droplevel("dataset")
majority = results.majority_reference(res, ("dSPIC-AM", "D2"))
present.figure("fig-models", plots_results.metric_bars(summ, reference=majority))
present.caption("majority-models", results.majority_caption(majority))
present.caption("learned-models", results.learned_caption(res, [(m, "D2") for m in compared]))
present.caption("learned-pooling", results.learned_caption(res, [("dSPIC-AM", "D2"), ("dSPIC-AM-nopool", "D2")]))
shown = summ[list(results.ALL_METRICS)]
shown.loc[f"always {majority['class']} (majority class)"] = [majority[m] for m in results.ALL_METRICS]
display(present.table(shown, "model-metrics", decimals=4))

# %% [markdown]
# ```{glue:figure} fig-models
# :name: fig-models
# :alt: Grouped bars of accuracy, precision, sensitivity, specificity, F1 and AUC for the four SI_CLF networks, AlexNet and dSPIC-AM on D2, with a dashed line over each metric at what always predicting the majority class scores.
#
# Every network of the comparison on the D2 test images (the paper's Fig. 10): one bar per network
# and metric, M&A scans left out. {glue:md}`majority-models` {glue:md}`learned-models`
# ```
#
# ## AUC (the paper's Table 8)
#
# The paper gives only the AUC of each network in a table; its other metrics are in Fig. 10 as bars,
# without numbers, so they have no verdict here.

# %%
from dspic_lib.chapters import verdicts

t8 = verdicts.table(res, "table8", by="model")
display(t8.table())

# %% tags=["nbval-check-output", "remove-cell"]
print(t8.check)

# %%
present.figure("fig-roc", plots_results.roc_curves(runs8))

# %% [markdown]
# ```{glue:figure} fig-roc
# :name: fig-roc
# :alt: Three panels of ROC curves, one per class (normal, metastasis, arthritis against the rest), one curve per network with its AUC in the legend.
#
# One-vs-rest ROC curves of each network on the D2 test images, per class. Table 8's AUC is the mean
# of the three (macro one-vs-rest). {glue:md}`learned-models`
# ```
#
# ## Confusion matrices (the paper's Fig. 11)

# %%
present.figure("fig-confusion", plots_results.confusion_grid(runs8))

# %% [markdown]
# ```{glue:figure} fig-confusion
# :name: fig-confusion
# :alt: Six confusion matrices, one per network, with counts of test images by true and predicted class.
#
# Confusion matrices of the test images (the paper's Fig. 11): rows are the true class, columns the
# predicted one; 3-class images only. {glue:md}`learned-models`
# ```
#
# ## dSPIC-AM without its pooling layers (the paper's Table 9)
#
# Removing the two 3 x 3 pooling layers keeps the maps after them two and then four times larger per
# side, so the network costs several times more operations per image (chapter 3). It trains under the
# same budget as every other network (the same epoch limit, stopping rule and patience), whatever that
# costs; what it cost in this run:

# %%
display(Markdown(results.cost_ratio_sentence(res, "dSPIC-AM-nopool", "dSPIC-AM", "D2")))

# %%
t9 = verdicts.table(res, "table9", by="model")
display(t9.table())
present.figure("fig-pooling", plots_results.pooling_bars(
    res.summary("dSPIC-AM", "D2"), res.summary("dSPIC-AM-nopool", "D2"), results.table9_paper(),
    reference=majority))

# %% tags=["nbval-check-output", "remove-cell"]
print(t9.check)

# %% [markdown]
# ```{glue:figure} fig-pooling
# :name: fig-pooling
# :alt: Paired bars of five metrics for dSPIC-AM with and without pooling on D2, with the paper's values as hollow diamonds and a dashed line at what always predicting the majority class scores.
#
# Table 9 as a figure: this run's dSPIC-AM with and without its pooling layers (bars) and the paper's
# values (diamonds), on the D2 test images. {glue:md}`majority-models` {glue:md}`learned-pooling`
# ```
#
# ## Verdicts
#
# The numbers of Tables 8 and 9, and the claims that rest on this chapter's runs, judged as in the
# previous chapter: a number only when its cell passed the learned gate, against a margin fixed in
# advance (0.03 for AUC, 0.05 for the others); a claim by the paired bootstrap interval of its
# difference on the same test patients:

# %%
closing = verdicts.summary(res, ["table8", "table9"],
                           ["normal vs arthritic", "removing the two pooling layers"])
display(*closing.tables())

# %% tags=["nbval-check-output", "remove-cell"]
print(closing.check)

# %% [markdown]
# ## What happened in this run

# %%
closing.show(ch)

# %% tags=["remove-input"]
ch.done()   # rewrites the banner at the top: now with every stored result this page showed
