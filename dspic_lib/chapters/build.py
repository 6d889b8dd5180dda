"""Execute the chapters with papermill and render the book with Jupyter Book 1.x.

``notebooks/NN_topic.py`` (jupytext percent format) is the source of truth. ``dspic book`` converts
each to a notebook, executes it with papermill into ``book/executed/`` with the profile's parameters
injected, then runs ``jupyter-book build -W --keep-going`` with execution off. A raising cell stops
the build with a non-zero exit naming the notebook and the cell.

``dspic book --store-reference`` re-executes the chapters under their default parameters (the
``smoke`` profile) and writes the paired ``notebooks/NN_topic.ipynb`` that nbval checks in CI.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import nbformat

from dspic_lib.errors import BuildError, ConfigError
from dspic_lib.paths import executed_dir, notebooks_dir, repo_root
from dspic_lib.provenance import git_commit

KERNEL = "python3"
KERNELSPEC = {"name": KERNEL, "display_name": "Python 3 (ipykernel)", "language": "python"}
# Chapter 00 reports the wall times of the other chapters, so it is executed after them.
RUN_LAST = ("00_environment",)


def chapter_sources(folder: Path | None = None) -> list[Path]:
    folder = folder or notebooks_dir()
    return sorted(p for p in folder.glob("[0-9][0-9]_*.py"))


def select(sources: list[Path], only: list[str] | None) -> list[Path]:
    """Chapters whose stem or two-digit number is in ``only`` (all when empty)."""
    if not only:
        return sources
    chosen = []
    for name in only:
        hits = [p for p in sources if p.stem == name or p.stem.split("_", 1)[0] == name]
        if not hits:
            raise ConfigError(f"unknown chapter {name!r}; valid: {', '.join(p.stem for p in sources)}")
        chosen.extend(h for h in hits if h not in chosen)
    return [p for p in sources if p in chosen]


def execution_order(sources: list[Path]) -> list[Path]:
    return sorted(sources, key=lambda p: (p.stem in RUN_LAST, p.stem))


def read_source(py: Path) -> nbformat.NotebookNode:
    nb = jupytext.read(py)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.setdefault("language_info", {"name": "python"})
    return nb


def execute_chapter(py: Path, output: Path, parameters: dict) -> float:
    """Execute one chapter with papermill; return its wall time. Raise BuildError on a failing cell."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output.parent.mkdir(parents=True, exist_ok=True)
    source_nb = output.with_suffix(".source.ipynb")
    nbformat.write(read_source(py), source_nb)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(source_nb), str(output), parameters=parameters, kernel_name=KERNEL,
            cwd=str(py.parent), progress_bar=False, log_output=False,
        )
    except PapermillExecutionError as err:
        number, excerpt = _failing_cell(output)
        raise BuildError(
            f"{py.name}: code cell {number} raised {err.ename}: {err.evalue}\n"
            f"  the cell:\n{excerpt}  executed notebook with the traceback: {output}"
        ) from None
    finally:
        source_nb.unlink(missing_ok=True)
    _hide_default_parameters(output)
    return time.perf_counter() - start


def _hide_default_parameters(notebook: Path) -> None:
    """Neither the default parameters nor the ones papermill injected (folders of this machine) reach
    the page, and no folder path stays in the executed notebook (the page's .ipynb download): the
    injected cell's and papermill's record of the parameters name no folder. Each chapter's banner
    states the data and profile."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
        if "injected-parameters" in tags:
            cell.source = _without_folders(cell.source)
    pm = nb.metadata.get("papermill", {})            # papermill records the parameters and paths too
    for key in ("data_dir", "results_dir"):
        if pm.get("parameters", {}).get(key) is not None:
            pm["parameters"][key] = HIDDEN_FOLDER
    for key in ("input_path", "output_path"):
        if key in pm:
            pm[key] = Path(pm[key]).name
    nbformat.write(nb, notebook)


HIDDEN_FOLDER = "<a folder of the machine that built the book>"


def _without_folders(source: str) -> str:
    """The injected parameters with the folder paths replaced: a removed cell is still in the page's
    downloadable .ipynb, and a folder's name can carry a patient's name."""
    import re

    return re.sub(r'^((?:data_dir|results_dir) = )(["\']).*\2\s*$', rf'\1"{HIDDEN_FOLDER}"', source, flags=re.M)


def _failing_cell(notebook: Path, lines: int = 6) -> tuple[int | None, str]:
    """Position among the code cells of the source, and the first lines, of the cell that raised."""
    try:
        nb = nbformat.read(notebook, as_version=4)
    except (OSError, ValueError):
        return None, "    (not available)\n"
    code = [c for c in nb.cells if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])]
    for number, cell in enumerate(code, 1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            source = cell.source.splitlines()
            more = ["    ..."] if len(source) > lines else []
            return number, "\n".join(["    " + s for s in source[:lines]] + more) + "\n"
    return None, "    (not available)\n"


KEY_FIELD = "execution_key"      # in an executed chapter's metadata["dspic"]


def execution_key(py: Path, parameters: dict, context: dict) -> str:
    """What an executed chapter depends on: its source, every source file of the package, the
    parameters, ``context`` (the effective profile, the data folder's fingerprint) and the package
    versions. Equal keys mean that executing the chapter again would only repeat it."""
    from dspic_lib.store import PACKAGE_DIR, environment, fingerprint, source_snapshot

    package = {str(path.relative_to(PACKAGE_DIR)): body for path, body in source_snapshot().items()}
    return fingerprint(py.read_bytes(), sorted(package.items()), json.dumps(parameters, sort_keys=True),
                       json.dumps(context, sort_keys=True), environment(False))


def _stored_key(notebook: Path) -> str | None:
    try:
        return json.loads(notebook.read_text()).get("metadata", {}).get("dspic", {}).get(KEY_FIELD)
    except (OSError, ValueError):
        return None


def _store_key(notebook: Path, key: str) -> None:
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata.setdefault("dspic", {})[KEY_FIELD] = key
    nbformat.write(nb, notebook)


def execute_all(parameters: dict, only: list[str] | None, results_dir: Path,
                out_dir: Path | None = None, sources: list[Path] | None = None,
                context: dict | None = None) -> dict[str, float]:
    """Execute the selected chapters (and any chapter never executed) and record their wall times.

    Without ``only``, a chapter whose executed notebook carries the :func:`execution_key` it would get
    now is reused, not executed again (a second ``make book`` with nothing changed only renders);
    chapter 00, which reports the other chapters' build, runs again whenever another chapter did.
    ``context`` (the effective profile, a callable giving the data fingerprint) enters the key."""
    out_dir = out_dir or executed_dir()
    sources = sources if sources is not None else chapter_sources()
    wanted = set(select(sources, only))
    missing = {p for p in sources if not (out_dir / f"{p.stem}.ipynb").exists()}
    if only and missing - wanted:
        print(f"also executing chapters never executed before: "
              f"{', '.join(sorted(p.stem for p in missing - wanted))}")
    todo = execution_order([p for p in sources if p in wanted | missing])
    resolved: dict = {}

    def key_of(py: Path) -> str:
        # callables of ``context`` are called once per build (the data fingerprint reads every file),
        # and again while one gives None (a data folder that a chapter has still to generate)
        if not resolved or any(v is None for v in resolved.values()):
            resolved.update({k: (v() if callable(v) else v) for k, v in context.items()})
        return execution_key(py, parameters, resolved)

    keys = {py: key_of(py) for py in todo} if context is not None else {}
    if not only and keys:
        fresh = [py for py in todo if _stored_key(out_dir / f"{py.stem}.ipynb") == keys[py]]
        if any(py not in fresh for py in todo if py.stem not in RUN_LAST):
            fresh = [py for py in fresh if py.stem not in RUN_LAST]
        for py in fresh:
            print(f"{py.stem}: reused (its source, the package, the parameters and the data are unchanged "
                  "since it was executed)", flush=True)
        todo = [py for py in todo if py not in fresh]
    log_path = results_dir / "build_log.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else {}
    times = log.get("chapters", {})
    for i, py in enumerate(todo, 1):
        print(f"[{i}/{len(todo)}] {py.stem} ...", flush=True)
        seconds = execute_chapter(py, out_dir / f"{py.stem}.ipynb", parameters)
        if context is not None:        # now: the first chapter may have generated the data
            _store_key(out_dir / f"{py.stem}.ipynb", key_of(py))
        times[py.stem] = round(seconds, 1)
        print(f"[{i}/{len(todo)}] {py.stem} done in {seconds:.1f} s", flush=True)
        results_dir.mkdir(parents=True, exist_ok=True)
        log_path.write_text(json.dumps(
            {"chapters": times, "parameters": parameters, "commit": git_commit(),
             "finished": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=2, sort_keys=True))
    return times


FINDINGS_FILE = "findings.md"     # beside the executed chapters (book/), included by book/intro.md


def chapter_title(notebook: nbformat.NotebookNode) -> str:
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "untitled"


def findings(out_dir: Path | None = None, sources: list[Path] | None = None) -> list[tuple[str, str, list[str], str]]:
    """The findings (:meth:`dspic_lib.chapters.setup.Chapter.finding`) of every executed chapter, in the order
    of the chapters: ``(stem, title, sentences, data statement)``; chapters without one are left out."""
    from dspic_lib.chapters.setup import FINDING

    out_dir = out_dir or executed_dir()
    found = []
    for py in sources if sources is not None else chapter_sources():
        path = out_dir / f"{py.stem}.ipynb"
        if not path.exists():
            continue
        nb = nbformat.read(path, as_version=4)
        sentences, data = [], ""
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                meta = out.get("metadata", {}).get(FINDING)
                if meta is not None and "text/markdown" in out.get("data", {}):
                    sentences.append(out["data"]["text/markdown"].strip())
                    data = meta.get("data", data)
        if sentences:
            found.append((py.stem, chapter_title(nb), sentences, data))
    return found


def write_findings(target: Path | None = None, out_dir: Path | None = None,
                   sources: list[Path] | None = None) -> Path:
    """Write the intro's "What this book found" from the chapters' findings (MyST, included by
    ``book/intro.md``). Every sentence is one a chapter computed; this function adds only headings."""
    out_dir = out_dir or executed_dir()
    target = target or out_dir.parent / FINDINGS_FILE       # book/findings.md beside book/executed/
    found = findings(out_dir, sources)
    if not found:
        text = "No chapter with findings has been executed yet; `dspic book` writes this section.\n"
    else:
        data = {d for *_, d in found if d}
        lines = [f"*{next(iter(data))}*" if len(data) == 1 else
                 "*The chapters below ran on different data; each says which at its top.*", ""]
        for stem, title, sentences, _ in found:
            lines += [f"**{title}** ({{doc}}`the chapter <executed/{stem}>`)", ""]
            lines += [f"- {s}" for s in sentences] + [""]
        text = "\n".join(lines)
    target.write_text(text)
    return target


def build_html(root: Path | None = None) -> Path:
    """Run Jupyter Book on the executed chapters, warnings as errors; return index.html."""
    import shutil

    root = root or repo_root()
    # --all re-reads every page, but Sphinx never deletes what an earlier build wrote: images of
    # figures that no longer exist would stay in _images and be published with the book
    for stale in ("html", "jupyter_execute"):
        shutil.rmtree(root / "book" / "_build" / stale, ignore_errors=True)
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root),
           "--path-output", str(root / "book"), "--all", "-W", "-n", "--keep-going"]
    print("$ jupyter-book build . --path-output book --all -W -n --keep-going", flush=True)
    proc = subprocess.run(cmd, cwd=root)
    if proc.returncode != 0:
        raise BuildError(f"jupyter-book build failed (exit {proc.returncode}); see the warnings above")
    return root / "book" / "_build" / "html" / "index.html"


def store_reference(py: Path, timeout: int = 1200) -> Path:
    """Execute a chapter with its default (smoke) parameters and write the paired .ipynb for nbval."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = read_source(py)
    nb.metadata["jupytext"] = {"formats": "ipynb,py:percent"}
    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL,
                            resources={"metadata": {"path": str(py.parent)}})
    try:
        client.execute()
    except CellExecutionError as err:
        raise BuildError(f"{py.name}: a cell raised while storing the reference outputs:\n{err}") from None
    target = py.with_suffix(".ipynb")
    for cell in nb.cells:  # keep diffs of the reference small and free of volatile metadata
        cell.metadata.pop("execution", None)
    nbformat.write(nb, target)
    return target
