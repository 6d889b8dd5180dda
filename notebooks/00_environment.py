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
# # How this book was made
#
# Which software, hardware, settings and source produced the pages of this book? This chapter records
# them, so that any number in the book can be traced to the run that made it.

# %% tags=["parameters"]
profile = "smoke"
data_dir = None
results_dir = None
seed = None
overrides = {}

# %%
from dspic_lib.chapters import environment, present
from dspic_lib.chapters import setup as chapter

ch = chapter.setup(profile, data_dir, results_dir, seed, overrides)
ch.banner()

# %% [markdown]
# ## The run profiles
#
# A profile fixes the data sizes, the image resolution and the training budget. Chapters read its
# fields and never branch on its name; `paper` is Table 4 of the paper, `cpu` and `smoke` shrink it.
# The column of the profile this build used shows its effective values, overrides included (they are
# also stored as `profile.json` with the results).

# %% tags=["nbval-check-output"]
present.table(environment.profiles_table(ch.profile), "profiles")

# %% [markdown]
# ## Software

# %%
present.table(environment.package_versions(), "packages")

# %% [markdown]
# ## Hardware seen by TensorFlow

# %%
present.table(environment.devices(), "devices")

# %% [markdown]
# ## Source and build

# %%
present.table(environment.build_summary(ch), "build")

# %% [markdown]
# Wall time of each chapter in the last build (this chapter is executed after the others, so the
# times are those of the build that produced these pages):

# %%
environment.chapter_times(ch)

# %% [markdown]
# ## Every verdict of this build
#
# Each number of the paper's Tables 5, 6, 8 and 9 and each of its claims that rests on them, as the
# results chapters checked it on this build's runs (read from the result store). First, whether the
# networks learned at all (chapter 4's learned gate); a cell that did not learn gets that verdict and
# no comparison. The others are compared within margins fixed in advance (0.05, and 0.03 for AUC).
# Counts per table, then every value:

# %%
from dspic_lib.evaluation import results
from dspic_lib.pipeline.experiments import EXPERIMENTS

everything = results.load(list(EXPERIMENTS), ch.profile, data_dir=ch.data_dir, results_dir=ch.results_dir)
ch.finding(results.learned_sentence(everything))
counts, numbers, claim_rows = results.overview(everything)
present.table(counts, "verdict-counts")

# %% tags=["nbval-check-output", "remove-cell"]
print(results.range_check(numbers.reset_index()))
print(f"{len(claim_rows)} text claims checked")

# %%
present.table(numbers, "all-verdicts", decimals=4)

# %%
present.table(claim_rows, "all-claims")

# %% tags=["remove-input"]
ch.done()   # rewrites the banner at the top: now with every stored result this page showed
