"""Bibliography labels are author-year ("Lin et al., 2021"), the same text as the citations.

The label style lives in book/_ext/bib_authoryear.py; _config.yml selects it. The unit test runs
without a build; the rendered check reads book/_build/html (skipped when the book was not built,
required under CI).
"""
import importlib.util
import os
import re

import pytest
from pybtex.database import parse_string

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def ext(root):
    spec = importlib.util.spec_from_file_location("bib_authoryear", root / "book" / "_ext" / "bib_authoryear.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _labels(ext, bibtex: str) -> dict:
    entries = list(parse_string(bibtex, "bibtex").entries.values())
    return dict(zip((e.key for e in entries), ext.AuthorYearLabelStyle().format_labels(entries)))


def test_author_year_labels(ext):
    bib = """
    @article{one, author={Lin, Qiang}, title={A}, year={2021}}
    @article{two, author={Kingma, Diederik P. and Ba, Jimmy}, title={B}, year={2015}}
    @article{six, author={Lin, Qiang and Cao, C. and Li, T. and Man, Z. and Cao, Y. and Wang, H.}, title={C}, year={2021}}
    @article{von, author={van der Walt, St{\\'e}fan}, title={D}, year={2011}}
    @article{dup1, author={He, K. and Zhang, X. and Ren, S.}, title={E}, year={2016}}
    @article{dup2, author={He, K. and Sun, J. and Ren, S.}, title={F}, year={2016}}
    @misc{nobody, title={G}}
    """
    assert _labels(ext, bib) == {
        "one": "Lin, 2021", "two": "Kingma and Ba, 2015", "six": "Lin et al., 2021",
        "von": "van der Walt, 2011", "dup1": "He et al., 2016a", "dup2": "He et al., 2016b",
        "nobody": "nobody",
    }


def test_config_selects_the_author_year_style(root):
    import yaml

    sphinx = yaml.safe_load((root / "_config.yml").read_text())["sphinx"]
    assert sphinx["config"]["bibtex_default_style"] == "authoryear"
    assert sphinx["config"]["bibtex_reference_style"] == "author_year"
    assert "bib_authoryear" in sphinx["local_extensions"]


def test_rendered_bibliography_has_author_year_labels(root):
    page = root / "book" / "_build" / "html" / "book" / "intro.html"
    if not page.exists():
        if IN_CI:
            pytest.fail("book not built")
        pytest.skip("book not built (run make book/test)")
    html = page.read_text()
    labels = re.findall(r'<span class="label"><span class="fn-bracket">\[</span><a[^>]*>([^<]+)</a>', html)
    assert labels, "no bibliography on the intro page"
    bad = [label for label in labels if not re.fullmatch(r".+, \d{4}[a-z]?", label)]
    assert not bad, f"bibliography labels that are not author-year: {bad}"
    assert "Lin et al., 2021" in labels
    # every in-text citation names a label of the list
    cited = {re.sub(r"</?em>", "", c) for c in re.findall(r'<a class="reference internal" href="#id\d+" title="[^"]*">([^<]*(?:<em>[^<]*</em>[^<]*)?)</a>', html)}
    assert cited and cited <= set(labels), (cited, labels)
