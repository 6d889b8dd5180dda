"""CITATION.cff is valid CFF 1.2.0 and agrees with the project and the paper.

Validated offline against the official CFF 1.2.0 JSON schema, vendored in tests/data/ (see its README).
The broken-copy tests prove the validation can fail.
"""
import copy
import datetime
import hashlib
import json
import re
import tomllib

import jsonschema
import pytest
import yaml

SCHEMA_SHA256 = "0b8d22140da702d766df318dcff3a91af2f39521298dcf36d76315fd99cc169b"
PAPER_DOI = "10.1186/s12880-021-00653-w"


def _dates_to_str(node):
    """YAML reads an unquoted 2026-11-25 as a date; the CFF schema asks tools to cast it to a string."""
    if isinstance(node, dict):
        return {k: _dates_to_str(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_dates_to_str(v) for v in node]
    if isinstance(node, datetime.date):
        return node.isoformat()
    return node


@pytest.fixture(scope="module")
def validator(root):
    path = root / "tests" / "data" / "cff-1.2.0.schema.json"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SCHEMA_SHA256, "vendored CFF schema changed"
    schema = json.loads(path.read_text())
    assert schema["$id"] == "https://citation-file-format.github.io/1.2.0/schema.json"
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def cff(root):
    return _dates_to_str(yaml.safe_load((root / "CITATION.cff").read_text()))


def _errors(validator, doc):
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(doc)]


def test_citation_cff_is_valid(validator, cff):
    assert cff["cff-version"] == "1.2.0"
    assert not _errors(validator, cff)


def test_citation_matches_project(root, cff):
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert cff["version"] == pyproject["version"]
    assert cff["license"] == pyproject["license"] == "MIT"
    assert cff["title"] == "dSPIC, regenerated: a reproducible companion"
    assert cff["authors"] == [{"name": "dspic-book contributors"}]
    assert cff["date-released"] == "2026-11-25"


def test_citation_names_the_paper(root, cff):
    papers = [r for r in cff.get("references", []) if r.get("doi") == PAPER_DOI]
    assert len(papers) == 1, "the paper must be listed once under references, with its DOI"
    paper = papers[0]
    assert paper["title"].startswith("dSPIC: a deep SPECT image classification network")
    assert [a["family-names"] for a in paper["authors"]] == ["Lin", "Cao", "Li", "Man", "Cao", "Wang"]
    assert (paper["journal"], paper["volume"], paper["start"], paper["year"]) == (
        "BMC Medical Imaging", 21, 122, 2021)
    # the same DOI wherever the book names the paper
    bib = (root / "book" / "references.bib").read_text()
    assert re.search(r"doi\s*=\s*\{" + re.escape(PAPER_DOI) + r"\}", bib)
    assert f"https://doi.org/{PAPER_DOI}" in (root / "book" / "intro.md").read_text()


def _drop(doc, key):
    del doc[key]


def _set(key, value):
    return lambda doc: doc.__setitem__(key, value)


def _paper(key, value):
    return lambda doc: doc["references"][0].__setitem__(key, value)


BROKEN = {
    "no authors": lambda d: _drop(d, "authors"),
    "no title": lambda d: _drop(d, "title"),
    "empty authors": _set("authors", []),
    "unknown key": _set("citation", "see README"),
    "not an SPDX licence": _set("license", "MIT License"),
    "date not ISO": _set("date-released", "25/11/2026"),
    "DOI as resolver URL": _paper("doi", f"https://doi.org/{PAPER_DOI}"),
    "reference without type": lambda d: d["references"][0].pop("type"),
    "wrong cff-version": _set("cff-version", "1.2"),
}


@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_broken_citation_fails_validation(validator, cff, breakage):
    doc = copy.deepcopy(cff)
    BROKEN[breakage](doc)
    assert _errors(validator, doc), f"{breakage}: the schema accepted a broken CITATION.cff"
