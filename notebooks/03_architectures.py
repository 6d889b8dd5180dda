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
# # Architectures
#
# Which networks does the paper compare, layer by layer (Table 3, Table 7, Eq. 6-9), what does each
# cost in parameters and floating-point operations, and where do the tables leave a choice open?
# Every number in this chapter is read from Keras models built by `dspic_lib.models`; nothing is typed.

# %% tags=["parameters"]
profile = "smoke"
data_dir = None
results_dir = None
seed = None
overrides = {}

# %%

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from dspic_lib import models
from dspic_lib.chapters import present
from dspic_lib.chapters import setup as chapter
from dspic_lib.config import PROFILES
from dspic_lib.models import summary
from dspic_lib.paper import targets

ch = chapter.setup(profile, data_dir, results_dir, seed, overrides)
ch.banner()   # reads 16 images of the cohort (the signal at initialisation)
PAPER = PROFILES["paper"].input_shape   # 1024 x 256 (rows x cols): the paper's 256 x 1024 scans
SHAPES = {f"{name} {s[0]}x{s[1]}": s for name, s in
          (("paper", PAPER), ("cpu", PROFILES["cpu"].input_shape), ("smoke", PROFILES["smoke"].input_shape))}

# %% [markdown]
# ## The networks
#
# Eight networks take part in the paper's comparisons: dSPIC with the attention module (dSPIC-AM) or
# the residual module (dSPIC-RM) after its first pooling layer (Table 3); four smaller *SI_CLF* networks
# with FC 1024 layers and AlexNet as the paper prints it (Table 7); and dSPIC-AM without its two
# pooling layers (Table 9). Each is one call, `models.build(name, input_shape=(rows, cols, 1))`:

# %% tags=["nbval-check-output"]
from dspic_lib.chapters import architectures

present.table(architectures.model_names_table(models.names()), "model-names")

# %% [markdown]
# The paper reports no parameter or FLOP counts, so there is no `paper` column here. Parameters and
# FLOPs per image (2 x the multiply-accumulates of convolutions and FC layers, for one forward pass) at
# the paper's resolution and at the `cpu` profile's, for the default build, and computed for the
# literal reading of the tables (the last map flattened into the first FC layer, see below):

# %% tags=["nbval-check-output"]
resolutions = dict(list(SHAPES.items())[:2])
present.table(summary.totals(models.names(), resolutions), "totals", decimals=1)

# %% [markdown]
# ## Table 3 and Table 7, read back from the models
#
# One row per row of the paper's table, at 1024 x 256. The `paper` column is the paper's cell; the
# other columns are read from the Keras layers (`layer` is the model's own row, worded like the paper,
# `padding` a real zero padding in pixels, or the pooling mode). `am1` and `rm1` are the added layers
# of Eq. 6-9; their parameters and FLOPs are summed over the dozen Keras layers they are made of.

# %% tags=["nbval-check-output"]
for name in models.names():
    display(Markdown(f"**{name}** at {PAPER[0]} x {PAPER[1]}"),
            present.table(summary.layer_table(summary.built(name, PAPER)), f"layers-{name}", decimals=1))

# %% [markdown]
# ## Eq. 6-9 and the code that implements them
#
# **Attention module** {cite:p}`woo2018cbam`, after the first pooling layer of dSPIC-AM (and twice in
# SI_CLF+AM):
#
# $$M = f_s(f_c(F) \otimes F) \otimes F \quad (6)$$
# $$f_c(F) = \sigma(MLP(AvgPool(F)) + MLP(MaxPool(F))) \quad (7)$$
# $$f_s(F') = \sigma(f^{7 \times 7}([AvgPool(F'); MaxPool(F')])) \quad (8)$$
#
# In Eq. 7 the pooling runs over the spatial axes (one value per channel) and the MLP, shared by both
# descriptors, is C -> C/r -> C. In Eq. 8 it runs over the channels (one value per pixel).

# %%
display(Markdown(architectures.source_markdown(models.cbam_block)))

# %% [markdown]
# **Residual module** {cite:p}`he2016resnet`, after the first pooling layer of dSPIC-RM:
#
# $$R = \delta(f^{3 \times 3}(\delta(f^{3 \times 3}(F))) + F) \quad (9)$$

# %%
display(Markdown(architectures.source_markdown(models.residual_block)))

# %% [markdown]
# `tests/test_models.py` checks both blocks against an independent NumPy implementation of the
# equations on random weights (largest difference below 1e-5) and checks that with all convolution
# weights set to zero the residual module returns ReLU(F).
#
# ## Where the tables leave a choice open, and what each choice costs
#
# ### 1. From the last convolution to FC 4096
#
# Table 3 goes from the last 3 x 3 convolution straight to a fully connected layer of 4096 units. Read
# literally, the last map is flattened, and the first FC layer alone gets a weight per map pixel,
# channel and unit. For dSPIC-AM, ways to feed that layer (computed from the shape of the last map;
# the literal network is never allocated):

# %% tags=["nbval-check-output"]
dspic_am = {label: summary.built("dSPIC-AM", shape) for label, shape in resolutions.items()}
heads = pd.concat({label: summary.head_options(model) for label, model in dspic_am.items()},
                  names=["resolution", "head"])
present.table(heads, "heads", decimals=3)

# %%
literal = summary.literal_parameters(dspic_am[next(iter(dspic_am))])
nopool = summary.literal_parameters(summary.built("dSPIC-AM-nopool", PAPER))
default = dspic_am[next(iter(dspic_am))].count_params()
machine = targets()["table4_training"]["framework"]
Markdown(architectures.literal_memory_sentence(literal, nopool, default, machine, PAPER))

# %% [markdown]
# So the authors must have reduced the last map somehow before the FC layers; the paper does not say
# how. This book's default is a **global average pooling** in front of the first FC layer: every FC
# width stays as printed, and the parameter count no longer depends on the image size, so the smoke,
# cpu and paper profiles train the same network. A third max pooling (the next-smallest change) still
# leaves hundreds of millions of weights at 1024 x 256 (table above); the 6 x 6 adaptive pooling of
# torchvision's AlexNet would be a middle way. The literal head is one argument away,
# `models.build(name, shape, head="flatten")`, and is built and compared with the computed counts in
# the tests at small resolutions. The same default applies to the Table 7 networks, so that the
# comparison of the Table 8 networks compares the networks, not the sizes of their heads: with the literal head
# AlexNet of Table 7 (no pooling after its last convolution) would have hundreds of millions of
# parameters at 1024 x 256 (table above).
#
# ### 2. P=3 on 3 x 3 convolutions, and pooling without a padding
#
# Table 3 pads the 3 x 3 convolutions conv3 and conv4 by 3 pixels. That is followed literally (a real
# zero padding), so each of them grows the map by 4 pixels per axis:

# %%
layers = summary.layer_table(dspic_am[next(iter(dspic_am))])
Markdown(architectures.padding_sentence(layers, PAPER))

# %% [markdown]
# The tables give max pooling no padding; this book pads pooling windows "same" (output ceil(n / 2);
# Keras' default "valid" gives floor((n - 3) / 2) + 1). What the other readings cost, for dSPIC-AM:

# %% tags=["nbval-check-output"]
variants = summary.variants("dSPIC-AM", resolutions, architectures.READINGS).drop(columns="error")
present.table(variants, "readings", decimals=1)

# %%
smallest = variants.xs(next(iter(resolutions)), level="resolution")["literal_parameters"]
Markdown(architectures.smallest_reading_sentence(smallest, PAPER))

# %% tags=["nbval-check-output"]
present.table(summary.variants("SI_CLF", SHAPES, architectures.POOL_READINGS), "si-clf-pools", decimals=1)

# %% [markdown]
# With "same" pooling every registered network builds at all three resolutions (the tests build all
# of them at each), at the price of one more row and column after each pooling layer.
#
# ### 3. Smaller choices
#
# - **Order of the two attention steps.** Eq. 6 as printed multiplies the spatial map into F, not
#   into the refined F'; the text ("F' is fed into the spatial attention module to obtain a refined
#   map") and CBAM apply them in sequence, which is what `cbam_block` does. `literal_eq6=True` multiplies
#   into F; it changes no parameter or FLOP count, and the tests check both readings against NumPy.
# - **Reduction ratio of the attention MLP**, not given: r = 16 as in CBAM. The whole module (row
#   `am1` of the dSPIC-AM table above) is a tiny part of the network, so r barely changes its size.
# - **Residual module**: both 3 x 3 convolutions keep the channel count and the map size, so the skip
#   is an identity (Eq. 9 has no projection), and there is no batch normalisation (Eq. 9 has none).
# - **Activations**: ReLU after every convolution and FC layer (Eq. 11), softmax output (Eq. 10); no
#   dropout (the paper mentions none). AlexNet has 64 filters in its first layer, as Table 7 prints it.

# %% [markdown]
# ### 4. The initial weights and the scale of the input
#
# The paper names no initialiser and no input scaling beyond Eq. 1, whose output is small (most
# pixels of a bone scan are far below the image's maximum). Keras starts every layer from
# Glorot-uniform weights. {numref}`fig-init-signal` follows the signal of 16 images of this book's cohort through the
# untrained networks under that default and under the choice made here: He-normal weights for every
# layer that feeds a ReLU (the standard for AlexNet-like ReLU networks) and the input standardised by
# the mean and SD of the training images, a `Normalization` layer saved inside the model, so that
# prediction and Grad-CAM see the input training saw.

# %%
from dspic_lib.pipeline import lineage
from dspic_lib.plots import architectures as plots_architectures

_, d1 = lineage.cohort_and_d1(ch.ctx)
sixteen = d1.X[np.linspace(0, len(d1.X) - 1, 16).astype(int)]
signal = architectures.init_signal(["dSPIC-AM", "dSPIC-RM", "SI_CLF"], sixteen, seed=ch.profile.seed)
present.figure("fig-init-signal", plots_architectures.init_signal(signal))

# %% [markdown]
# ```{glue:figure} fig-init-signal
# :name: fig-init-signal
# :alt: Three line plots, one per network, of the RMS of each row's output on a log scale; the Keras-default line falls by orders of magnitude from the input to the logits, the He-normal line stays near 1.
#
# The signal of 16 images of the cohort through three untrained networks, row by row: the RMS of each
# row's output (log scale), and as the last point the SD of the logits across the images, under
# Keras' default initialisation on the Eq. 1 input and under He-normal weights on a standardised input.
# ```

# %% tags=["nbval-check-output", "remove-cell"]
spread = architectures.logit_spread_table(signal)
print("every network tells the images apart at init with the chosen initialisation:",
      bool((spread[list(architectures.INIT_CHOICES)[1]] > 1e-3).all()))

# %%
display(present.table(spread, "init-logit-spread", decimals=6))
display(Markdown(architectures.init_sentence(signal, len(sixteen))))

# %% [markdown]
# Chapter 04 prices the choice: the same network trained on the same data from both starts.

# %% [markdown]
# ## Three outputs for four classes
#
# The output layer is "SoftMax 3" (Table 3) while the images carry four labels: N, M, A and, for 8
# images, M&A. The paper says that for an image with both diseases "the outputs of the top-1 and -2
# probability indicate the classes", and its Fig. 13 shows two M&A scans with metastasis ranked first
# and arthritis second. It does not say how M&A images were trained. This book:
#
# - trains an M&A image towards the two-hot target split equally over M and A, $(0, 0.5, 0.5)$, so that
#   the cross-entropy pushes both probabilities up together (`datasets.targets_for`);
# - leaves M&A images out of the 3-class metrics (accuracy, precision, sensitivity, specificity, F1,
#   AUC over N, M, A), which are defined for one true class per image;
# - scores M&A images separately by the top-2 rule: correct when the two highest probabilities are M
#   and A, in either order.
#
# With 8 M&A images in the whole cohort (about 2 in a 30 % test part) that separate score is anecdotal,
# in the paper as here.

# %% [markdown]
# ## Answer
#
# The networks of Tables 3 and 7 are built layer by layer as printed, with real zero paddings; the
# tables above are read back from the built models. Two choices the paper leaves open decide whether the
# networks train at all: the initial weights and the input's scale (He-normal on a standardised input,
# {numref}`fig-init-signal`), and the last map, averaged before the first FC layer instead of flattened:

# %%
model = summary.built("dSPIC-AM", PAPER)
Markdown(architectures.size_sentence("dSPIC-AM", PAPER, architectures.counts(model)))

# %% tags=["remove-input"]
ch.done()   # rewrites the banner at the top: now with every stored result this page showed
