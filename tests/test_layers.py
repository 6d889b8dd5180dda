"""The project's structure: the data layer imports nothing above it; the vocabulary is defined once."""
import re
from pathlib import Path

from dspic_lib import store

PKG = store.PACKAGE_DIR
# paths: where this install keeps things (the pseudonym key of data/identity.py), from the top layer
ALLOWED_FOR_DATA = ("dspic_lib.data", "dspic_lib.errors", "dspic_lib.options", "dspic_lib.paths", "dspic_lib.vocab")


def _upward_imports(path: Path, source: bytes) -> set[str]:
    """What the data-layer module at ``path`` (whose text is ``source``) imports from outside the allowed layers."""
    name = "dspic_lib." + ".".join(path.relative_to(PKG).with_suffix("").parts)
    name = name.removesuffix(".__init__")
    return {m for m in store._imports_cached(name, path, source)
            if not any(m == a or m.startswith(a + ".") for a in ALLOWED_FOR_DATA) and m != "dspic_lib"}


def test_the_data_layer_imports_only_data_errors_options_paths_and_the_vocabulary():
    files = sorted((PKG / "data").rglob("*.py"))
    assert len(files) >= 6
    bad = {f"{p.relative_to(PKG)} imports {m}" for p in files for m in _upward_imports(p, p.read_bytes())}
    assert not bad, sorted(bad)


def test_the_check_sees_an_upward_import():
    """The same check on a module that is never written: its text is parsed as if it sat in data/."""
    probe = PKG / "data" / "_probe_upward.py"
    source = b"from . import dicom\n\n\ndef f():\n    from ..chapters.setup import setup\n"
    assert _upward_imports(probe, source) == {"dspic_lib.chapters.setup"}
    assert not probe.exists()


def _definitions(pattern: str) -> list[str]:
    hits = []
    for p in PKG.rglob("*.py"):
        for i, line in enumerate(p.read_text().splitlines(), 1):
            if re.search(pattern, line):
                hits.append(f"{p.relative_to(PKG)}:{i}")
    return hits


def test_classes_are_defined_once_in_the_vocabulary_and_colours_once_in_the_palette():
    classes = _definitions(r"""\(\s*["']N["']\s*,\s*["']M["']\s*,\s*["']A["']""")
    assert classes and all(h.startswith("vocab.py") for h in classes), classes
    palettes = _definitions(r"^\s*(CLASS_COLORS|DISEASE_COLORS|SEX_COLORS)\s*=")
    assert palettes and all(h.startswith("palette.py") for h in palettes), palettes
    # any colour outside the palette is a pure grey (#rrggbb with r = g = b), never a hue
    hex_colours = _definitions(r"""["']#(?!([0-9a-fA-F]{2})\1\1["'])[0-9a-fA-F]{6}["']""")
    assert all(h.startswith("palette.py") for h in hex_colours), hex_colours


def test_provenance_is_top_level_and_the_chapter_modules_import_no_circle():
    graph = _import_graph(_package_sources())
    assert graph["dspic_lib.provenance"] == set()     # stdlib only; TensorFlow asked by name, not imported
    # chapters/setup once imported chapters/build for git_commit while build imports setup: a circle
    assert "dspic_lib.chapters.build" not in graph["dspic_lib.chapters.setup"]
    assert [m for m, deps in graph.items() if "dspic_lib.chapters.build" in deps
            and not m.startswith("dspic_lib.cli")] == []


# ------------------------------------------------------------------------------------ layer order
# Each layer imports only from the layers before it; within the top layer and within a subpackage,
# modules may import each other, but no two modules may reach each other (no import circle).
LAYERS = ("top", "data", "models", "pipeline", "evaluation", "plots", "predict", "chapters", "cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG).with_suffix("").parts)
    return ".".join(["dspic_lib", *(parts[:-1] if parts[-1] == "__init__" else parts)])


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "top"


def _import_graph(sources: dict[str, tuple[Path, str]]) -> dict[str, set[str]]:
    """module -> the dspic_lib modules it imports anywhere (top level or inside functions); a module's
    own parent packages are left out (importing a submodule runs them, it does not depend on them)."""
    import ast

    graph = {}
    for name, (path, text) in sources.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    mod = ".".join(base[:len(base) - (node.level - 1)] + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                subs = {f"{mod}.{a.name}" for a in node.names}
                found |= subs
                if not subs <= set(sources):       # `from pkg import name`: pkg itself is imported
                    found.add(mod)
        graph[name] = {m for m in found if m in sources and m != name and not name.startswith(m + ".")}
    return graph


def _layer_problems(sources: dict[str, tuple[Path, str]]) -> list[str]:
    graph = _import_graph(sources)
    problems = [f"{a} imports {b} (layer {_layer(b)} comes after {_layer(a)})"
                for a, deps in graph.items() for b in deps if LAYERS.index(_layer(b)) > LAYERS.index(_layer(a))]

    def reach(start):
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    problems += sorted({f"import circle: {min(a, b)} <-> {max(a, b)}" for a in graph for b in graph[a] if a in reach(b)})
    return sorted(problems)


def _package_sources() -> dict[str, tuple[Path, str]]:
    return {_module_name(p): (p, p.read_text()) for p in PKG.rglob("*.py")}


def test_every_module_imports_only_from_its_own_or_earlier_layers_and_no_circle():
    sources = _package_sources()
    assert {_layer(m) for m in sources} == set(LAYERS)
    assert _layer_problems(sources) == []


def test_the_layer_check_sees_an_upward_import_and_a_circle():
    sources = _package_sources()
    models = PKG / "models" / "zoo.py"
    upward = dict(sources, **{"dspic_lib.models.zoo": (models, sources["dspic_lib.models.zoo"][1]
                                                        + "\n\ndef _probe():\n    from ..chapters import present\n")})
    before = set(_layer_problems(sources))
    assert set(_layer_problems(upward)) - before == {
        "dspic_lib.models.zoo imports dspic_lib.chapters.present (layer chapters comes after models)"}
    split_py = PKG / "pipeline" / "split.py"
    circle = dict(sources, **{"dspic_lib.pipeline.split": (split_py, sources["dspic_lib.pipeline.split"][1]
                                                           + "\nfrom . import train\n")})
    assert "import circle: dspic_lib.pipeline.split <-> dspic_lib.pipeline.train" in set(_layer_problems(circle)) - before


def test_the_readme_layout_names_every_module_and_subpackage():
    """The layout section matches ``ls dspic_lib``: each subpackage (``name/``) and each module in it
    or at the top is named there (package ``__init__``/``__main__`` files and caches aside)."""
    readme = (PKG.parent / "README.md").read_text()
    layout = readme[readme.index("## Layout"):readme.index("Design notes are in")]
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", layout))
    subpackages = sorted(p.name for p in PKG.iterdir() if (p / "__init__.py").is_file())
    modules = sorted(p.stem for p in PKG.glob("*.py") if p.stem != "__init__")
    modules += sorted(p.stem for sub in subpackages for p in (PKG / sub).glob("*.py")
                      if not p.stem.startswith("__"))
    assert [s for s in subpackages if f"{s}/" not in layout] == []
    assert [m for m in modules if m not in words] == []
