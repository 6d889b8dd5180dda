"""The project's vocabulary, defined once: classes, model outputs, views, diseases and their colours.

Every module and figure takes these names and colours from here, so a class or a disease has one
name and one colour in every chapter. The palette is a subset of seaborn's colour-blind-safe
``colorblind`` palette (Okabe-Ito based): metastasis (and class M) vermillion, arthritis (and class A)
blue, both (M&A) reddish purple, normal grey. Plain strings, so the data layer can use them without
importing a plotting library.

Two names are not classes: ``UNLABELLED`` (an image nobody labelled; counted and reported, left out of
every training and metric set) and ``UNKNOWN_VIEW`` (kept for prediction, left out of per-view counts).
"""
from __future__ import annotations

CLASSES = ("N", "M", "A", "M&A")            # image labels: normal, metastasis, arthritis, both
OUTPUTS = ("N", "M", "A")                   # the softmax outputs (M&A is scored by the top-2 rule)
CLASS_NAMES = {"N": "normal", "M": "metastasis", "A": "arthritis", "M&A": "metastasis and arthritis"}
VIEWS = ("anterior", "posterior")
DISEASES = ("metastasis", "arthritis")
UNKNOWN_VIEW = "unknown"                    # neither the header, views.csv nor --view says which view
UNLABELLED = "unlabelled"                   # no annotation and no label: counted, never taken as N

# What an image's label means. The paper's task has the four classes above; the public whole-body
# collections (BS-80K, the PNG folders) only say normal or abnormal, which is not M or A.
BINARY_CLASSES = ("normal", "abnormal")
TASK_CLASSES = {"four-class": CLASSES, "binary": BINARY_CLASSES}
ABNORMAL = "abnormal"                       # the lesion kind of a box in a binary collection

CLASS_COLORS = {"N": "#949494", "M": "#d55e00", "A": "#0173b2", "M&A": "#cc78bc"}
DISEASE_COLORS = {"metastasis": CLASS_COLORS["M"], "arthritis": CLASS_COLORS["A"]}
SEX_COLORS = {"female": "#de8f05", "male": "#029e73", "unknown": "#949494"}
# The models compared (Figs 5.1-5.2): eight hues 45 degrees apart on the HUSL (HSLuv) circle,
# seaborn.external.husl.husl_to_hex(15 + 45 k, 90, 55), in the order k = 0, 3, 6, 1, 4, 7, 2, 5 so that
# neighbouring bars differ by 135 degrees. (seaborn's "colorblind" palette gave three of eight models
# near-identical oranges.)
MODEL_COLORS = ("#f34127", "#28956b", "#b358f2", "#a27e27", "#2b9193", "#eb2eb6", "#6f8e26", "#2e8bc3")
