"""The nbval check cells that print sanity lines ("30 paper values, 30 computed ...", "every verdict a
known one: yes") are for nbval, not for readers: each carries the tag ``remove-cell`` (myst-nb leaves
the cell out of the page) beside ``nbval-check-output`` (nbval still compares its output)."""
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
# the lines the check cells print (dspic_lib.evaluation.results.range_check and the chapters' checks)
CHECK_LINE = re.compile(r"paper values.*computed in this run|every verdict a known one|text claims checked"
                        r"|after Eq\. 1: min of every image|of the pairs are the paper's types"
                        r"|every end within \[0, 1\]|paired differences for \d+ claims")


def _printed(cell) -> str:
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def check_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and CHECK_LINE.search(_printed(c))]


def problems(nb: dict) -> list[str]:
    """Check cells that nbval would not compare or that the page would show."""
    from nbval.plugin import find_metadata_tags

    out = []
    for cell in check_cells(nb):
        tags = cell.get("metadata", {}).get("tags", [])
        first = "".join(cell["source"]).splitlines()[0][:60]
        if "remove-cell" not in tags:
            out.append(f"shown on the page: {first}")
        markers = dict(find_metadata_tags(cell["metadata"]) or ())     # what nbval reads from the tags
        if markers.get("check") is not True:
            out.append(f"not compared by nbval: {first}")
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_sanity_printouts_are_checked_by_nbval_and_hidden_from_the_page(path):
    nb = json.loads(path.read_text())
    assert not problems(nb)


def test_the_checker_finds_check_cells_that_are_shown_or_unchecked():
    def cell(tags):
        return {"cell_type": "code", "source": ["print(t5.check)"], "metadata": {"tags": tags},
                "outputs": [{"output_type": "stream", "name": "stdout",
                             "text": ["15 paper values, 15 computed in this run\n", "every verdict a known one: yes\n"]}]}
    ch04 = json.loads(next(p for p in NOTEBOOKS if p.stem.startswith("04_")).read_text())
    assert len(check_cells(ch04)) == 3             # Tables 5 and 6 and the closing verdicts
    assert problems({"cells": [cell(["nbval-check-output", "remove-cell"])]}) == []
    assert problems({"cells": [cell(["nbval-check-output"])]}) == ["shown on the page: print(t5.check)"]
    assert problems({"cells": [cell(["remove-cell"])]}) == ["not compared by nbval: print(t5.check)"]
