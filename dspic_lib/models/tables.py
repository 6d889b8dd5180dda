"""Tables 3 and 7 of the paper as printed, cell by cell, for the ``paper`` column of chapter 03.

Only text to show beside the rows read from the built models; the models are built from
``zoo.dspic_rows`` & co., and ``tests/test_models.py`` checks them against its own transcription.
"""
from __future__ import annotations

TABLE3 = [  # (layer, configuration)
    ("Convolution", "11 × 11, 96, S=4, P=2"),
    ("Pooling", "MaxPool, 3 × 3, S=2"),
    ("Added layer", "Attention/residual module"),
    ("Convolution", "5 × 5, 256, S=1, P=2"),
    ("Pooling", "MaxPool, 3 × 3, S=2"),
    ("Convolution", "3 × 3, 384, S=1, P=3"),
    ("Convolution", "3 × 3, 384, S=1, P=3"),
    ("Convolution", "3 × 3, 256, S=1, P=1"),
    ("Fully connected", "4096"),
    ("Fully connected", "4096"),
    ("SoftMax", "3"),
]

TABLE7 = {
    "SI_CLF": ["11 × 11, 64, S=4, P=2", "MaxPool(3), S=2", "7 × 7, 128, S=1, P=2", "MaxPool(3), S=2",
               "5 × 5, 128, S=1, P=3", "3 × 3, 256, S=1, P=3", "3 × 3, 256, S=1, P=1",
               "MaxPool(3), S=2", "FC (1024)", "FC (1024)", "Softmax (3)"],
    "SI_CLF+AM": ["11 × 11, 64, S=4, P=2", "MaxPool(3), S=2", "AM", "7 × 7, 128, S=1, P=2",
                  "MaxPool(3), S=2", "5 × 5, 128, S=1, P=3", "3 × 3, 256, S=1, P=3",
                  "3 × 3, 256, S=1, P=1", "AM", "MaxPool(3), S=2", "FC (1024)", "FC (1024)",
                  "Softmax (3)"],
    "SI_CLF+RM": ["11 × 11, 64, S=4, P=2", "MaxPool(3), S=2", "RM", "7 × 7, 128, S=1, P=2",
                  "MaxPool(3), S=2", "5 × 5, 128, S=1, P=3", "3 × 3, 256, S=1, P=3",
                  "3 × 3, 256, S=1, P=1", "MaxPool(3), S=2", "FC (1024)", "FC (1024)", "Softmax (3)"],
    "SI_CLF+AM+RM": ["11 × 11, 64, S=4, P=2", "MaxPool(3), S=2", "RM", "AM", "7 × 7, 128, S=1, P=2",
                     "MaxPool(3), S=2", "5 × 5, 128, S=1, P=3", "3 × 3, 256, S=1, P=3",
                     "3 × 3, 256, S=1, P=1", "AM", "MaxPool(3), S=2", "FC (1024)", "FC (1024)",
                     "Softmax (3)"],
    "AlexNet": ["11 × 11, 64, S=4, P=2", "MaxPool(3), S=2", "5 × 5, 256, S=1, P=2", "MaxPool(3), S=2",
                "3 × 3, 384, S=1, P=3", "3 × 3, 384, S=1, P=3", "FC (1024)", "FC (1024)", "Softmax (3)"],
}


def _table3(added: str, pooling: bool = True) -> list[str]:
    cells = []
    for layer, config in TABLE3:
        if layer == "Added layer":
            cells.append(f"{added} ({config})")
        elif pooling or layer != "Pooling":
            cells.append(f"{layer} {config}")
    return cells


PAPER_ROWS = {
    "dSPIC-AM": _table3("AM"), "dSPIC-RM": _table3("RM"), **TABLE7,
    "dSPIC-AM-nopool": _table3("AM", pooling=False),   # Table 9: "removing two pooling layers"
}

