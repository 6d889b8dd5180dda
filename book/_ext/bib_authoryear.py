"""Author-year labels in the bibliography, to match the author-year citations in the text.

sphinxcontrib-bibtex 2.7 renders ``{cite:p}`` as "Lin et al., 2021" (``bibtex_reference_style:
author_year``), but its default entry style labels the list alpha-style ([LCL+21]), so a reader
cannot find "Lin et al., 2021" in the list. This registers a pybtex label style ``authoryear``
(one author: "Lin, 2021"; two: "Kingma and Ba, 2015"; more: "Lin et al., 2021"; a/b suffixes when two
entries would get the same label) and a formatting style ``authoryear`` (pybtex's ``plain``: sorted by
author, year, title) that uses it. ``_config.yml`` selects it with ``bibtex_default_style: authoryear``.
"""
from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _last_name(person) -> str:
    parts = person.rich_prelast_names + person.rich_last_names
    return " ".join(str(Text(p).render_as("text")) for p in parts)


def author_year_label(entry) -> str:
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_name(p) for p in persons]
    if not names:
        who = entry.fields.get("key") or entry.fields.get("organization") or entry.key
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    year = entry.fields.get("year")
    return f"{who}, {year}" if year else who


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        labels = [author_year_label(e) for e in sorted_entries]
        total, seen = Counter(labels), Counter()
        for label in labels:
            if total[label] == 1:
                yield label
            else:
                yield label + chr(ord("a") + seen[label])
                seen[label] += 1


class AuthorYearStyle(PlainStyle):
    default_label_style = "authoryear"


def setup(app):
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabelStyle, force=True)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle, force=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
