"""The project's structure: the data layer imports nothing above it; the vocabulary is defined once."""
import re
from pathlib import Path

from dspic_lib import store

PKG = store.PACKAGE_DIR
ALLOWED_FOR_DATA = ("dspic_lib.data", "dspic_lib.errors", "dspic_lib.options", "dspic_lib.vocab")


def _imported_modules(path: Path) -> set[str]:
    name = "dspic_lib." + ".".join(path.relative_to(PKG).with_suffix("").parts)
    name = name.removesuffix(".__init__")
    return store._imports_cached(name, path, path.read_bytes())


def test_the_data_layer_imports_only_data_errors_options_and_the_vocabulary():
    files = sorted((PKG / "data").rglob("*.py"))
    assert len(files) >= 6
    bad = {f"{p.relative_to(PKG)} imports {m}" for p in files for m in _imported_modules(p)
           if not any(m == a or m.startswith(a + ".") for a in ALLOWED_FOR_DATA) and m != "dspic_lib"}
    assert not bad, sorted(bad)


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    fake = PKG / "data" / "_probe_upward.py"
    try:
        fake.write_text("def f():\n    from ..chapters.setup import setup\n")
        assert "dspic_lib.chapters.setup" in _imported_modules(fake)
    finally:
        fake.unlink()


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
    prov = _imported_modules(PKG / "provenance.py")
    assert prov == set(), prov              # stdlib only; TensorFlow asked by name, not imported
    # chapters/setup once imported chapters/build for git_commit while build imports setup: a circle
    assert "dspic_lib.chapters.build" not in _imported_modules(PKG / "chapters" / "setup.py")
    assert all("dspic_lib.chapters.build" not in _imported_modules(p) for p in PKG.rglob("*.py")
               if p.name != "build.py" and "cli" not in p.parts)
