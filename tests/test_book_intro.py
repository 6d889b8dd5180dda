"""The intro page lists exactly the chapters of _toc.yml, in toc order, and links each of them.

A chapter added to _toc.yml must get a row in the intro's chapter table; a row for a chapter that does
not exist (yet) fails. Chapters still to come are named in prose, never linked.
"""
import re
import tomllib
from pathlib import PurePosixPath

import yaml

DOC_ROLE = re.compile(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`")


def toc_chapters(toc: dict) -> list[str]:
    """Every file of the toc below the root, in reading order (chapters, parts, nested sections)."""
    files = []

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return files


def intro_chapter_table(text: str) -> list[str]:
    """The {doc} targets in the first column of the table headed '| chapter |', in order."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"\|\s*chapter\s*\|", line))
    targets = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        first_cell = line.split("|")[1]
        found = DOC_ROLE.findall(first_cell)
        assert len(found) == 1, f"chapter row without exactly one {{doc}} link: {line[:80]}"
        targets.append(found[0].strip())
    return targets


def _resolve(target: str, intro: str) -> str:
    """A {doc} target relative to the intro (or /absolute from the root) as a toc path."""
    if target.startswith("/"):
        return target.lstrip("/")
    return str(PurePosixPath(intro).parent / target)


def test_intro_lists_exactly_the_toc_chapters(root):
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    intro = toc["root"]
    listed = [_resolve(t, intro) for t in intro_chapter_table((root / f"{intro}.md").read_text())]
    chapters = toc_chapters(toc)
    assert listed == chapters, (f"intro chapter table {listed} != _toc.yml chapters {chapters}: "
                                "add/remove rows in book/intro.md")


def test_intro_links_only_to_toc_documents(root):
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    intro = toc["root"]
    text = (root / f"{intro}.md").read_text()
    linked = {_resolve(t, intro) for t in DOC_ROLE.findall(text)}
    unknown = linked - set(toc_chapters(toc)) - {intro}
    assert not unknown, f"intro links to documents that are not in _toc.yml: {sorted(unknown)}"
    # the reader learns whether the table is the whole book: either what is still to come, or that
    # these are all the chapters
    assert re.search(r"still to come|these are all the chapters", text), \
        "say in a sentence whether chapters are still to come"


def test_intro_cites_this_version(root):
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    text = (root / "book" / "intro.md").read_text()
    assert f"version {version}" in text, "the intro's citation of the book must name the current version"
    assert "CITATION.cff" in text


def test_intro_table_parser_catches_a_missing_and_an_extra_row():
    """The check can fail: a row too many or too few differs from the toc."""
    toc = {"root": "book/intro", "chapters": [{"file": "book/executed/00_a"}, {"file": "book/executed/01_b"}]}
    good = "| chapter | x |\n|---|---|\n| {doc}`A <executed/00_a>` | 1 |\n| {doc}`executed/01_b` | 2 |\n"
    extra = good + "| {doc}`C <executed/02_c>` | 3 |\n"
    missing = "| chapter | x |\n|---|---|\n| {doc}`A <executed/00_a>` | 1 |\n"
    as_toc = lambda text: [_resolve(t, "book/intro") for t in intro_chapter_table(text)]  # noqa: E731
    assert as_toc(good) == toc_chapters(toc)
    assert as_toc(extra) != toc_chapters(toc)
    assert as_toc(missing) != toc_chapters(toc)
    parts = {"parts": [{"caption": "P", "chapters": [{"file": "a", "sections": [{"file": "b"}]}]}]}
    assert toc_chapters(parts) == ["a", "b"]


def test_intro_places_the_extra_module_as_table_3_does(root):
    """Table 3 (and chapter 03) put the attention / residual module after the first pooling layer."""
    text = " ".join((root / "book" / "intro.md").read_text().split())
    assert "after the first pooling layer" in text
    assert "after the first convolution" not in text


def test_intro_lists_the_paper_figures_it_does_not_regenerate_with_a_reason_each(root):
    """Figs 3, 5, 6 and 7 of the paper are drawings or a screenshot: the intro names each, says what it
    shows and why it is not regenerated (a table row with three non-empty cells)."""
    lines = (root / "book" / "intro.md").read_text().splitlines()
    rows = {}
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| Fig. ") and len(cells) == 3:
            rows[cells[0]] = cells[1:]
    assert sorted(rows) == ["Fig. 3", "Fig. 5", "Fig. 6", "Fig. 7"], rows
    for fig, (shows, why) in rows.items():
        assert len(shows) > 20 and len(why) > 20, fig
    assert "not public" in rows["Fig. 7"][1] and "drawing" in rows["Fig. 3"][1]
