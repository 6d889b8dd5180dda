"""The project's vocabulary, defined once: classes, model outputs, views and diseases.

Every module and figure takes these names from here, so a class or a disease has one name in every
chapter; their colours are in :mod:`dspic_lib.palette` (a colour decides no result, so it is kept out
of the result store's keys).

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

