"""The model zoo: dSPIC-AM/RM (Table 3), the Table 7 comparators and the no-pooling ablation.

``build(name, input_shape=(rows, cols, 1), num_classes=3)`` builds a registered model by its paper
name; ``names()`` lists them (``names(reference=True)`` adds the plain CNN, the synthetic cohort's reference,
not a network of the paper); ``set_standardization(model, mean, sd)`` sets the input standardisation; ``load(path)`` reads a saved ``.keras`` file back (safe mode). The blocks of Eq. 6-9 are in :mod:`dspic_lib.models.blocks`.
"""
from .blocks import cbam_block, residual_block
from .zoo import REGISTRY, ZooModel, alexnet, build, dspic, load, names, plain_cnn, set_standardization, si_clf

__all__ = ["build", "names", "load", "dspic", "si_clf", "alexnet", "cbam_block", "residual_block",
           "ZooModel", "REGISTRY", "plain_cnn", "set_standardization"]
