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

# %%
from dspic_lib import chapter, environment

ch = chapter.setup(profile, data_dir, results_dir, seed)

# %% [markdown]
# ## The run profile
#
# A profile fixes the data sizes, the image resolution and the training budget. Chapters read its
# fields and never branch on its name; `paper` is Table 4 of the paper, `cpu` and `smoke` shrink it.

# %%
# NBVAL_CHECK_OUTPUT
environment.profiles_table()

# %% [markdown]
# The profile this build used, with any overrides applied (it is also stored as `profile.json` in the
# result store):

# %%
print(ch.profile.to_json())

# %% [markdown]
# ## Software

# %%
environment.package_versions()

# %% [markdown]
# ## Hardware seen by TensorFlow

# %%
environment.devices()

# %% [markdown]
# ## Source and build

# %%
environment.build_summary(ch)

# %% [markdown]
# Wall time of each chapter in the last build (this chapter is executed after the others, so the
# times are those of the build that produced these pages):

# %%
environment.chapter_times(ch)
