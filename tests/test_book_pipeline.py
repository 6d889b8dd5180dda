"""The execution pipeline fails loudly: a raising cell stops `dspic book`, a changed output fails nbval."""
import json
import shutil
import textwrap

import jupytext
import nbformat
import pytest
from conftest import run_cmd

from dspic_lib.chapters import build as book

BOOM = textwrap.dedent('''\
    # %% [markdown]
    # # A chapter that breaks

    # %% tags=["parameters"]
    profile = "smoke"
    data_dir = None
    results_dir = None
    seed = None

    # %%
    x = 1

    # %%
    raise ValueError("deliberate failure in cell two")
    ''')


def test_raising_cell_makes_dspic_book_fail_naming_the_notebook(tmp_path):
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    (nbdir / "99_boom.py").write_text(BOOM)
    proc = run_cmd(["dspic", "book", "--profile", "smoke", "--notebooks", str(nbdir),
                    "--executed", str(tmp_path / "out"), "--results-dir", str(tmp_path / "res"),
                    "--no-html"], timeout=300)
    assert proc.returncode != 0
    assert "99_boom.py" in proc.stderr
    assert "deliberate failure in cell two" in proc.stderr
    assert "code cell 3 raised ValueError" in proc.stderr  # parameters, x = 1, then the raise
    assert 'raise ValueError("deliberate' in proc.stderr  # the failing cell's source is quoted


def test_selecting_an_unknown_chapter_lists_the_valid_ones():
    sources = book.chapter_sources()
    with pytest.raises(Exception) as err:
        book.select(sources, ["77"])
    assert "00_environment" in str(err.value)


def test_environment_chapter_runs_last():
    names = [p.stem for p in book.execution_order(book.chapter_sources())]
    assert names[-1] == "00_environment"


def _checked_cell(nb):
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] == "code" and "nbval-check-output" in tags and cell["outputs"]:
            return cell
    raise AssertionError("chapter 00 has no checked cell with output")


def test_nbval_fails_when_a_stored_checked_output_changes(tmp_path, root):
    ref = root / "notebooks" / "00_environment.ipynb"
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    shutil.copy(ref, good)
    nb = json.loads(ref.read_text())
    cell = _checked_cell(nb)
    out = cell["outputs"][0]
    # change one stored value in every representation of the output, as a regression would
    if "data" in out:
        for mime, text in out["data"].items():
            out["data"][mime] = "".join(text).replace("n_patients", "n_patientz")
    else:
        out["text"] = "".join(out["text"]).replace("n_patients", "n_patientz")
    bad.write_text(json.dumps(nb))
    args = ["python", "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q"]
    ok = run_cmd([*args, str(good)], cwd=root / "notebooks", timeout=300)
    assert ok.returncode == 0, ok.stdout[-2000:]
    broken = run_cmd([*args, str(bad)], cwd=root / "notebooks", timeout=300)
    assert broken.returncode != 0
    assert "1 failed" in broken.stdout and "differ" in broken.stdout
    assert "n_patientz" in broken.stdout  # the report shows the stored value that no longer holds


def test_every_chapter_is_paired_and_in_sync(root):
    """notebooks/NN.py is the source: its committed .ipynb twin must hold the same cells."""
    sources = book.chapter_sources(root / "notebooks")
    assert sources, "no chapters found"
    for py in sources:
        twin = py.with_suffix(".ipynb")
        assert twin.exists(), f"{py.name} has no paired {twin.name}: run dspic book --store-reference"
        a, b = jupytext.read(py), jupytext.read(twin)
        cells_a = [(c.cell_type, c.source.strip()) for c in a.cells]
        cells_b = [(c.cell_type, c.source.strip()) for c in b.cells]
        assert cells_a == cells_b, (f"{twin.name} is out of sync with {py.name}: "
                                    f"run dspic book --store-reference --only {py.stem[:2]}")
        code = [c for c in b.cells if c.cell_type == "code"]
        assert any(c.get("outputs") for c in code), f"{twin.name} holds no stored outputs"


def test_every_chapter_is_in_the_toc(root):
    toc = (root / "_toc.yml").read_text()
    for py in book.chapter_sources(root / "notebooks"):
        assert f"book/executed/{py.stem}" in toc, f"{py.stem} is missing from _toc.yml"


def test_a_second_build_with_nothing_changed_reuses_every_chapter(tmp_path, monkeypatch):
    """Chapters whose source, package, parameters and data are unchanged are not executed again;
    chapter 00 runs again whenever another chapter did; a changed chapter runs again."""
    from dspic_lib.chapters import build as book

    src = tmp_path / "nb"
    src.mkdir()
    for stem in ("00_environment", "01_a", "02_b"):
        (src / f"{stem}.py").write_text(f"# %%\nprint({stem!r})\n")
    ran = []

    def fake_execute(py, output, parameters):
        ran.append(py.stem)
        output.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(), str(output))
        return 0.1

    monkeypatch.setattr(book, "execute_chapter", fake_execute)
    data = {"fingerprint": "abc"}
    context = {"profile": {"epochs": 6}, "data": lambda: data["fingerprint"]}
    run = lambda **kw: book.execute_all({"profile": "smoke"}, kw.get("only"), tmp_path / "res",
                                        out_dir=tmp_path / "ex", sources=book.chapter_sources(src),
                                        context=kw.get("context", context))
    run()
    assert ran == ["01_a", "02_b", "00_environment"]
    ran.clear(); run()
    assert ran == []                                           # nothing changed: nothing executed
    (src / "02_b.py").write_text("# %%\nprint('changed')\n")
    ran.clear(); run()
    assert ran == ["02_b", "00_environment"]                   # the changed one, and the build record
    data["fingerprint"] = "other data"
    ran.clear(); run()
    assert ran == ["01_a", "02_b", "00_environment"]
    ran.clear(); run(context={**context, "profile": {"epochs": 7}})
    assert ran == ["01_a", "02_b", "00_environment"]
    ran.clear(); run(only=["01"])
    assert ran == ["01_a"]                                     # asked for explicitly: executed


def test_injected_folders_do_not_reach_the_downloadable_notebook():
    """A removed cell is still in the page's .ipynb download; a folder's name can carry a patient's name."""
    from dspic_lib.chapters.build import HIDDEN_FOLDER, _without_folders

    src = 'profile = "cpu"\ndata_dir = "/scans/Doe^John"\nresults_dir = \'/r\'\nseed = 0\n'
    out = _without_folders(src)
    assert "Doe" not in out and "/r" not in out and out.count(HIDDEN_FOLDER) == 2
    assert 'profile = "cpu"' in out and "seed = 0" in out


def test_no_folder_path_stays_in_an_executed_notebook(tmp_path):
    import nbformat

    from dspic_lib.chapters.build import HIDDEN_FOLDER, _hide_default_parameters

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('data_dir = "/scans/Doe^John"\nresults_dir = "/r/Doe"\nseed = 0\n')
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells = [cell]
    nb.metadata["papermill"] = {"parameters": {"data_dir": "/scans/Doe^John", "results_dir": "/r/Doe", "seed": 0},
                                "input_path": "/home/doe/book/x.source.ipynb", "output_path": "/home/doe/book/x.ipynb"}
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    _hide_default_parameters(path)
    text = path.read_text()
    assert "Doe" not in text and "doe" not in text and HIDDEN_FOLDER in text and "remove-cell" in text


def test_set_and_dspic_fields_reach_the_chapters_as_the_overrides_parameter_only(home, monkeypatch):
    """One channel: `dspic book --set` and DSPIC_<FIELD> are read by the command, once, and travel as the
    chapters' `overrides` parameter; no DSPIC_<FIELD> is set for the kernels, and a chapter's setup
    reads none."""
    import os

    from dspic_lib.chapters import build as book
    from dspic_lib.chapters import setup as chapter
    from dspic_lib.cli import main

    seen = {}
    monkeypatch.setattr(book, "execute_all", lambda parameters, *a, **k: seen.update(parameters) or {})
    monkeypatch.setattr(book, "write_findings", lambda **k: None)
    monkeypatch.setenv("DSPIC_BATCH_SIZE", "2")
    assert main(["book", "--profile", "smoke", "--set", "epochs=3", "--no-html"]) == 0
    assert seen["overrides"] == {"epochs": 3, "batch_size": 2} and seen["profile"] == "smoke"
    assert "DSPIC_EPOCHS" not in os.environ
    monkeypatch.setenv("DSPIC_EPOCHS", "9")                 # a kernel's environment is not a channel
    ch = chapter.setup("smoke", None, None, None, seen["overrides"])
    assert (ch.profile.epochs, ch.profile.batch_size) == (3, 2)
    assert ch.ctx.profile is ch.profile and ch.store.root == ch.results_dir / "store"
