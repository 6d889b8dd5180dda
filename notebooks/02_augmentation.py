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
# # Normalization and augmentation: D1, D2, D3
#
# How does the paper turn 768 scans into the three datasets it trains on (Eq. 1-4, Tables 1-2), and
# what do the augmented and generated images look like? This chapter normalizes every scan (D1),
# adds mirrored, translated and rotated copies of the diseased scans until Table 1's class proportions
# are reached (D2), and trains one DCGAN per diseased class to reach Table 2's (D3).
#
# One change from the paper: it augmented all images and then split them 7:3 at random, so copies of
# a test scan, and the other view of a test patient, could sit in training. Here the cohort is split
# **by patient first**, and augmentation and the DCGANs only see the training patients (the paper's
# order remains available as an option, `protocol="paper"`, and its effect on the scores is measured
# once the models are trained).

# %% tags=["parameters"]
profile = "smoke"
data_dir = None
results_dir = None
seed = None
overrides = {}

# %%

from dspic_lib.chapters import present
from dspic_lib.chapters import setup as chapter
from dspic_lib.data import cohort as cohort_mod
from dspic_lib.pipeline import augment, datasets, gan_checks, lineage
from dspic_lib.plots import augment as plots_augment

ch = chapter.setup(profile, data_dir, results_dir, seed, overrides)
cohort, d1 = lineage.cohort_and_d1(ch.ctx)
P = ch.profile
ch.banner()

# %%
from dspic_lib.chapters import augmentation

print(f"{len(d1)} images of {cohort.table['patient'].nunique()} patients, model input {P.rows} x {P.cols}")

# %% [markdown]
# ## Eq. 1: one intensity scale per image
#
# Raw scans are counts; how many depends on the patient, the injected activity and the acquisition
# time, and the hottest pixel (often the bladder) varies several-fold between scans (the paper's
# Fig. 4). Eq. 1 maps each image onto [0, 1] with its own minimum and maximum,
# $x_N = (x - x_{min}) / (x_{max} - x_{min})$. Two details the paper leaves open: negative values
# (which lossy JPEG 2000 files can decode to, as ringing around hot spots) are clipped to 0 first, and
# at reduced resolution the image is resized with anti-aliasing and then normalized, so every model
# input spans exactly [0, 1]. The maximum count per image, by class:

# %% tags=["nbval-check-output"]
present.table(augmentation.raw_max_table(cohort.table), "raw-max")

# %% tags=["nbval-check-output", "remove-cell"]
print(augmentation.eq1_check(d1.X))

# %%
picks = augmentation.spread_picks(cohort.table["max_count"])
raw = augmentation.raw_in_order(cohort_mod.iter_pixels(cohort, picks), picks)
names = augmentation.pick_names(cohort.table, picks)
present.figure("fig-eq1-spread", plots_augment.eq1_spread(
    cohort.table["max_count"], cohort.table["label"], raw, [d1.X[i] for i in picks], names))
present.figure("fig-eq1-scan", plots_augment.before_after(
    raw[-1], d1.X[picks[-1]], f"raw counts, {raw[-1].shape[0]} x {raw[-1].shape[1]}",
    f"D1 (Eq. 1), {P.rows} x {P.cols}"))

# %% [markdown]
# ```{glue:figure} fig-eq1-spread
# :name: fig-eq1-spread
# :alt: Three panels. Left, the maximum count of every image by class, spread over a wide range. Middle, histograms of the pixel values of four scans in raw counts, far apart. Right, the same four scans after Eq. 1, on one 0 to 1 axis.
#
# Eq. 1 puts every scan on one scale. Left: the maximum count of every image (the spread of the
# paper's Fig. 4); middle and right: the pixel values of four scans, from the lowest to the highest
# maximum, before and after Eq. 1.
# ```
#
# ```{glue:figure} fig-eq1-scan
# :name: fig-eq1-scan
# :figclass: scan
# :alt: The scan with the highest maximum count, as raw counts at full size and after Eq. 1 at the model's resolution, shown in inverted grey.
#
# The scan with the highest maximum, before and after Eq. 1 (inverted grey, displayed with a gamma of
# 0.5 so that the skeleton is visible next to the hottest spot).
# ```

# %% [markdown]
# ## The split: by patient, 7:3, stratified by class
#
# Both views of a patient go to the same side; the class proportions are kept on both sides.

# %% tags=["nbval-check-output"]
b1 = lineage.build(ch.ctx, "D1", d1=d1)
present.table(datasets.split_table(b1), "split")

# %% [markdown]
# ## Choosing t and r
#
# Eq. 4 translates by $\pm t$ pixels, and the rotation turns by $\pm r$ degrees; the paper says both were
# "experimentally determined" and gives neither. We choose them on the **training patients only**:
# they are split 3-fold by patient, each fit part is augmented to Table 1's proportions with one
# (t, r), and a cheap linear classifier (ridge on 32 x 8 block means and maxima) is scored by macro F1
# over N/M/A on the held-out training patients. The grid: t of 8, 16 and 32 pixels at the paper's
# 256-pixel width (scaled to this width), r of 2, 5 and 10 degrees; t = r = 0 is the same classifier
# without augmentation. The proxy is weak (a linear model on coarse features, not dSPIC), so
# differences smaller than the fold-to-fold spread say little; the choice is cached in the result store.

# %%
sweep = lineage.choose_t_r(ch.ctx, d1)
print(f"chosen: t = {sweep.t} px at {P.cols} px width, r = {sweep.r:g} degrees")
present.figure("fig-sweep", plots_augment.sweep_heatmap(sweep.summary()))
present.table(augmentation.sweep_table(sweep.summary()), "sweep", decimals={"r (degrees)": 0, "macro F1, mean": 3, "macro F1, sd": 3})

# %% [markdown]
# ```{glue:figure} fig-sweep
# :name: fig-sweep
# :alt: Heat map of the validation macro F1 of the cheap classifier for each translation t (rows) and rotation r (columns), with the score without augmentation in the title.
#
# The sweep that chooses t and r: validation macro F1 of the proxy classifier per (t, r), averaged
# over the 3 folds of training patients.
# ```

# %% [markdown]
# ## Eq. 2-4 on one scan, with its LabelMe boxes
#
# The paper gives three transforms of a point $(x_i, y_i)$ of an image $w$ pixels wide. The mirror,
# Eq. 2:
#
# $$\begin{bmatrix} x_o \\ y_o \\ 1 \end{bmatrix} = \begin{bmatrix} -1 & 0 & w \\ 0 & 1 & 0 \\ 0 & 0 & 1 \end{bmatrix} \begin{bmatrix} x_i \\ y_i \\ 1 \end{bmatrix} \qquad (2)$$
#
# and the translation by $\pm t$ pixels, Eq. 4:
#
# $$\begin{bmatrix} x_o \\ y_o \end{bmatrix} = \begin{bmatrix} x_i \\ y_i \end{bmatrix} \pm \begin{bmatrix} t_x \\ t_y \end{bmatrix} \qquad (4)$$
#
# ```{warning}
# **A misprint in the paper.** Eq. 3 is printed as an exact copy of Eq. 2 (the mirror), although the
# text says Eqs. 3 and 4 give the translated and rotated points. The rotation is therefore missing
# from the paper. This book implements the rotation by $\pm r$ degrees about the image centre
# $(c_x, c_y)$:
#
# $$\begin{bmatrix} x_o \\ y_o \\ 1 \end{bmatrix} = \begin{bmatrix} 1 & 0 & c_x \\ 0 & 1 & c_y \\ 0 & 0 & 1 \end{bmatrix} \begin{bmatrix} \cos r & -\sin r & 0 \\ \sin r & \cos r & 0 \\ 0 & 0 & 1 \end{bmatrix} \begin{bmatrix} 1 & 0 & -c_x \\ 0 & 1 & -c_y \\ 0 & 0 & 1 \end{bmatrix} \begin{bmatrix} x_i \\ y_i \\ 1 \end{bmatrix} \qquad \text{(3, as implemented)}$$
# ```
#
# Each copy moves the image and its boxes by the same 3 x 3 matrix (bilinear interpolation, zero
# background outside the image). Each diseased image gets its share of copies from 13 distinct
# transforms (the 7 below, then the mirror combined with each of the other 6), in a random order per
# image.

# %%
d2 = lineage.build(ch.ctx, "D2", d1=d1, t=sweep.t, r=sweep.r)
train = d2.train.meta
example = augmentation.transform_example(train)
present.figure("fig-transforms", plots_augment.transform_grid(
    d2.train.X[example], train.at[example, "boxes"], train.at[example, "diseases"],
    augment.candidate_transforms(sweep.t, sweep.r)[:7], title=f"a {train.at[example, 'label']} scan"))

# %% [markdown]
# ```{glue:figure} fig-transforms
# :name: fig-transforms
# :figclass: scan
# :alt: One diseased scan and its seven basic transforms, mirror, translations and rotations, each with its lesion boxes moved along.
#
# Eq. 2-4 on one training scan: the original, the mirror, the translations by $\pm t$ and the rotations
# by $\pm r$ chosen above, each with its LabelMe boxes transformed by the same matrix.
# ```

# %% [markdown]
# ## D2 against Table 1
#
# The paper's Table 1 keeps the normal scans as they are and multiplies the diseased classes (the
# `paper` column below). Here the same proportions are requested relative to the normal scans of the
# training part, and met exactly. `this run, full size` applies the same rule to the whole cohort, as the paper
# did.

# %% tags=["nbval-check-output"]
present.table(datasets.counts_table(d2, d1), "d2-counts", decimals=1)

# %% tags=["nbval-check-output"]
present.table(datasets.source_table(d2.train), "d2-sources")

# %% [markdown]
# ## D3: one DCGAN per diseased class (Table 2)
#
# Table 2 also keeps N and adds generated scans to M, A and M&A. Each class gets a DCGAN (Radford et
# al.: strided convolutions, batch norm, ReLU/tanh generator, LeakyReLU discriminator, Adam 2e-4,
# beta1 0.5) at the model's resolution, its generator growing a 4:1 seed map to the whole-body
# aspect, trained on that class's training images only. M&A has a handful of training scans (4
# patients in the whole cohort): its DCGAN starts from the trained M networks and is fine-tuned on the
# M&A scans and their 13 geometric copies for a tenth of the steps at a quarter of the learning rate
# (`dspic_lib.pipeline.gan` records the short experiment behind those two numbers). Weights,
# losses and samples are kept in the result store, so a rebuild does not retrain.

# %%
d3 = lineage.build(ch.ctx, "D3", d1=d1, t=sweep.t, r=sweep.r)
runs = d3.generated.runs
present.table(augmentation.gan_runs_table(runs), "gan-runs", decimals={"training seconds": 1})

# %% tags=["nbval-check-output"]
present.table(datasets.counts_table(d3, d1), "d3-counts", decimals=1)

# %% [markdown]
# Losses per class: the discriminator's and generator's losses (top) and the discriminator's mean
# output on real and generated images (bottom); a discriminator that wins outright (D(real) near 1,
# D(generated) near 0 for good) leaves the generator no gradient to learn from.

# %%
present.figure("fig-gan-losses", plots_augment.gan_losses(gan_checks.histories(runs)))
real_by, fake_by = augmentation.real_and_generated(d3.train, runs)
present.figure("fig-gan-samples", plots_augment.real_vs_generated(real_by, fake_by, k=4))

# %% [markdown]
# ```{glue:figure} fig-gan-losses
# :name: fig-gan-losses
# :alt: For each diseased class, the discriminator and generator losses over the training steps (top) and the discriminator's mean output on real and on generated scans (bottom).
#
# DCGAN training per class: losses (top) and the discriminator's mean output on real and generated
# scans (bottom).
# ```
#
# ```{glue:figure} fig-gan-samples
# :name: fig-gan-samples
# :figclass: scan
# :alt: For each diseased class, real training scans on the left and scans generated by that class's DCGAN on the right.
#
# Real training scans (left) beside generated ones (right), per class.
# ```

# %% [markdown]
# ## Are the generated scans realistic, and are they new?
#
# Two checks per class. *Novelty*: the distance (root-mean-square over pixels) from each generated scan
# to its nearest training scan, against the same distance from each real training scan to its nearest
# scan of another patient. A ratio well below 1 means the generator copies its training scans; well
# above 1, its scans are far from any real one. *Realism*: how well a linear classifier on the sweep's
# block features tells real from generated scans (cross-validated ROC AUC; 0.5 = it cannot tell,
# 1.0 = trivially).

# %%
args = augmentation.gan_check_inputs(d3.train)
realism = gan_checks.realism_table(*args, seed=ch.seed)
present.figure("fig-gan-novelty", plots_augment.nn_distances(gan_checks.distance_frame(*args)))
present.table(realism, "realism", decimals=3)

# %% [markdown]
# ```{glue:figure} fig-gan-novelty
# :name: fig-gan-novelty
# :alt: Per class, the distribution of distances from each generated scan to its nearest training scan next to the distances between real scans of different patients.
#
# Novelty of the generated scans: distance to the nearest training scan, against the distance between
# real scans of different patients.
# ```

# %% [markdown]
# ## Leakage check
#
# No patient of the test part may reach training, as an image, as a copy, or through a DCGAN trained
# on it:

# %% tags=["nbval-check-output"]
present.table(augmentation.leakage_table((b1, d2, d3)), "leakage")

# %% [markdown]
# ## Answer
#
# D1 is every scan on its own [0, 1] scale (Eq. 1, negatives clipped first). D2 and D3 reach the class
# proportions of Tables 1 and 2, built from the training patients only; the test part is the same
# untouched D1 scans for all three, so the results chapters can compare the three datasets on equal
# terms. The translation and rotation the paper left unstated were chosen on training patients with a
# cheap proxy whose differences are small next to their fold-to-fold spread.
#
# What happened to the DCGANs in this run, from its own numbers (the paper reports no such check):

# %%
gan_table, gan_sentences = gan_checks.outcome(runs, realism)
present.table(gan_table.rename_axis("class"), "gan-outcome", decimals=2)

# %%
present.bullets(gan_sentences)

# %% tags=["remove-input"]
ch.done()   # rewrites the banner at the top: now with every stored result this page showed
