"""The colours of the classes, diseases and sexes, defined once for every figure.

A subset of seaborn's colour-blind-safe ``colorblind`` palette (Okabe-Ito based): metastasis (and
class M) vermillion, arthritis (and class A) blue, both (M&A) reddish purple, normal grey. Plain
strings, so any layer can use them without importing a plotting library. Kept apart from
:mod:`dspic_lib.vocab` because a colour decides no result: this module is infrastructure for the
result store's keys (:mod:`dspic_lib.store`), so changing a colour retrains nothing.
"""
from __future__ import annotations

CLASS_COLORS = {"N": "#949494", "M": "#d55e00", "A": "#0173b2", "M&A": "#cc78bc"}
DISEASE_COLORS = {"metastasis": CLASS_COLORS["M"], "arthritis": CLASS_COLORS["A"]}
SEX_COLORS = {"female": "#de8f05", "male": "#029e73", "unknown": "#949494"}
# The models compared (Figs 5.1-5.2): eight hues 45 degrees apart on the HUSL (HSLuv) circle,
# seaborn.external.husl.husl_to_hex(15 + 45 k, 90, 55), in the order k = 0, 3, 6, 1, 4, 7, 2, 5 so that
# neighbouring bars differ by 135 degrees. (seaborn's "colorblind" palette gave three of eight models
# near-identical oranges.)
MODEL_COLORS = ("#f34127", "#28956b", "#b358f2", "#a27e27", "#2b9193", "#eb2eb6", "#6f8e26", "#2e8bc3")
