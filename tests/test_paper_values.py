"""Every value a page shows in a "paper" column is a value of targets.json, copied, never recomputed.

The layer tables of chapter 03 are the exception: targets.json holds no layer tables, so their
"paper" cells are transcribed in ``dspic_lib/models/tables.py`` and checked against the paper's text
by tests/test_models.py.

Reads the chapters executed by `dspic book` (``make test`` builds the smoke book first); skipped when
they are missing, except under CI.
"""
import json
import os
import re

import pytest
from bs4 import BeautifulSoup

from dspic_lib.paper import leaves

IN_CI = os.environ.get("CI", "").lower() == "true"


def _allowed() -> tuple[set, set]:
    numbers, words = set(), set()
    for v in leaves():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            numbers.add(round(float(v), 6))
        elif isinstance(v, str):
            words.add(v.strip().lower())
    return numbers, words


def _cells_ok(values, numbers, words) -> list[str]:
    bad = []
    for cell in values:
        text = str(cell).strip()
        if text in {"-", "", "nan"}:
            continue
        try:
            if round(float(text.replace(",", "")), 6) not in numbers:
                bad.append(text)
        except ValueError:
            if not all(part.strip().lower() in words for part in text.split(",")):
                bad.append(text)
    return bad


def _paper_columns(nb_path):
    nb = json.loads(nb_path.read_text())
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html")
            if not html:
                continue
            html = "".join(html) if isinstance(html, list) else html
            if "<table" not in html or 'id="T_layers-' in html:
                continue
            for table in BeautifulSoup(html, "html.parser").find_all("table"):
                for name, values in _columns(table):
                    if _is_paper_column(name):
                        yield f"{nb_path.stem} cell {i} column {name!r}", values


def _is_paper_column(name: str) -> bool:
    """"paper", "images (paper)", "paper: accuracy": the paper's values; not "paper's table" or a
    profile named paper (chapter 00 calls those columns "profile ...")."""
    return bool(re.fullmatch(r"paper|paper[:,].*", name.strip(), re.I) or re.search(r"\(paper\)", name, re.I))


def _columns(table):
    """(header text, cell texts) per column of an HTML table whose last header row names the columns
    (pandas' Styler writes the row labels as <th> cells in the body, which are not columns here)."""
    head = table.find("thead")
    header_rows = [tr for tr in (head.find_all("tr") if head else [])
                   if tr.find("th", class_="col_heading") is not None]
    if not header_rows:
        return []
    names = [th.get_text(" ", strip=True) for th in header_rows[-1].find_all("th", class_="col_heading")]
    body = [tr for tr in table.find_all("tr") if tr.find_parent("thead") is None]
    cells = [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in body]
    width = max((len(r) for r in cells), default=0)
    names = names[-width:] if width else []
    return [(name, [r[k] for r in cells if k < len(r)]) for k, name in enumerate(names)]


def test_paper_columns_hold_only_values_of_targets_json(root):
    executed = sorted((root / "book" / "executed").glob("[0-9][0-9]_*.ipynb"))
    if not executed:
        if IN_CI:
            pytest.fail("CI needs the executed chapters (dspic book runs before pytest)")
        pytest.skip("book not built")
    numbers, words = _allowed()
    seen, problems = 0, []
    for nb in executed:
        for where, values in _paper_columns(nb):
            seen += 1
            bad = _cells_ok(values, numbers, words)
            if bad:
                problems.append(f"{where}: {bad}")
    assert seen >= 3, f"expected the chapters' paper columns, found {seen}"
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_recomputed_paper_value():
    numbers, words = _allowed()
    assert _cells_ok(["334", "174", "-", "vertebra, rib, femur"], numbers, words) == []
    assert _cells_ok(["1,502"], numbers, words) == ["1,502"]        # the sum of Table 1: not printed
    assert _cells_ok(["22.2"], numbers, words) == ["22.2"]
    assert _is_paper_column("images (paper)") and _is_paper_column("paper") and _is_paper_column("paper: F1")
    assert not _is_paper_column("paper's table") and not _is_paper_column("profile paper")
