"""No number typed into the prose of chapters 06 and 07 or the intro's summary (issue: every number in a
sentence comes from a computed value).

The executed reference notebooks (notebooks/NN_*.ipynb, what nbval checks) are read cell by cell:
Markdown cells may name the paper's figures, tables, equations and datasets ("Fig. 12", "Table 5",
"Eq. 1", "D2", "top-2"), and nothing else with a digit; code cells may not pass a plain (non-f) string
with a digit to ``Markdown(...)`` or ``ch.finding(...)``. Outputs are computed, so they are not read.
"""
import ast
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ("06_misclassification", "07_beyond")

REFERENCE = re.compile(
    r"\b(?:Figs?\.|Figures?|Tables?|Eqs?\.|Equations?|chapters?|Chapters?|Section)\s+\d+(?:\s*[-,]\s*\d+)*"
    r"(?:\s+and\s+\d+)?"
    r"|\bD[123]\b|\btop-[12]\b|\bFig\.\s*\d+[a-c]?\b")
MARKUP = re.compile(r"\{[a-z:-]+\}`[^`]*`|`[^`]*`|^```.*$|^:[a-z]+:.*$|\(\#[^)]*\)", re.M)


def typed_numbers(markdown: str) -> list[str]:
    """The sentences of ``markdown`` that still hold a digit once references and markup are removed."""
    text = REFERENCE.sub("", MARKUP.sub("", markdown))
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n\n", text) if re.search(r"\d", s)]


def typed_strings(source: str) -> list[str]:
    """Plain string literals with a digit passed to Markdown(...) or ch.finding(...) in a code cell."""
    bad = []
    tree = ast.parse("\n".join(line for line in source.splitlines() if not line.startswith(("%", "!"))))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("Markdown", "finding"):
                for arg in ast.walk(node):
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and re.search(r"\d", arg.value):
                        if not any(isinstance(p, ast.JoinedStr) and arg in p.values for p in ast.walk(node)):
                            bad.append(arg.value)
    return bad


def test_the_checker_finds_typed_numbers_and_lets_references_pass():
    assert typed_numbers("The accuracy is 0.77 here.") == ["The accuracy is 0.77 here."]
    assert typed_numbers("As in Fig. 12 and Table 5, on D2 with the top-2 rule (Eq. 1).") == []
    assert typed_numbers("See {doc}`the chapter <executed/07_beyond>` and `seed 3`.") == []
    assert typed_numbers("Figures 12 and 13 show it. Of 384 patients, most.") == ["Of 384 patients, most."]
    assert typed_strings('display(Markdown("83 % of them"))') == ["83 % of them"]
    assert typed_strings('display(Markdown(f"{x:.2f} of them"))') == []
    assert typed_strings('ch.finding("ran 3 epochs")') == ["ran 3 epochs"]


@pytest.mark.parametrize("stem", CHAPTERS)
def test_no_number_is_typed_in_the_prose_of(stem):
    nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            problems += [f"cell {i}: {s}" for s in typed_numbers(cell.source)]
        elif cell.cell_type == "code":
            problems += [f"cell {i}: {s!r}" for s in typed_strings(cell.source)]
    assert not problems, "numbers typed into the prose:\n" + "\n".join(problems)


def test_the_intro_summary_is_included_not_typed():
    text = (ROOT / "book" / "intro.md").read_text()
    section = text.split("## What this book found", 1)[1].split("\n## ", 1)[0]
    assert "```{include} findings.md" in section
    assert typed_numbers(MARKUP.sub("", section)) == []


def test_the_findings_page_is_made_only_of_the_chapters_sentences(tmp_path):
    from dspic_lib.chapters import build as book
    from dspic_lib.chapters.setup import FINDING

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter\n\nProse."),
                nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
                    "display_data", data={"text/markdown": "Accuracy 0.512 [0.4, 0.6]."},
                    metadata={FINDING: {"data": "This page ran on the synthetic cohort."}})]),
                nbformat.v4.new_code_cell("y", outputs=[nbformat.v4.new_output(
                    "display_data", data={"text/markdown": "Not a finding 0.9."})])]
    nbformat.write(nb, tmp_path / "07_x.ipynb")
    out = book.write_findings(tmp_path / "findings.md", out_dir=tmp_path, sources=[Path("07_x.py")])
    text = out.read_text()
    assert "- Accuracy 0.512 [0.4, 0.6]." in text and "Not a finding" not in text
    assert "**A chapter**" in text and "executed/07_x" in text and "synthetic cohort" in text
    # with the generated sentences taken out, no digit is left but the link target
    rest = text.replace("Accuracy 0.512 [0.4, 0.6].", "")
    assert typed_numbers(rest) == []
