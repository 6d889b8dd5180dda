"""The verdict blocks of the result chapters (04 and 05): one paper table checked against this run,
and the closing "Verdicts" and "What happened in this run" sections.

Both chapters show the same things for their own tables and claims, so both call these functions:

* :func:`table` — one paper table's verdicts, as a page table (with the majority-class reference row,
  and the plain-CNN reference when that run exists) and as the seed-independent summary nbval
  compares (:func:`dspic_lib.evaluation.results.range_check`).
* :func:`summary` — every verdict of the chapter's tables and the text claims that rest on its runs:
  the counts per table, the claims table, the checked summary, the bullet list of what happened and
  the sentences that become findings of the book.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from dspic_lib.chapters import present
from dspic_lib.evaluation import results


@dataclass
class TableVerdicts:
    """The verdicts of one paper table (``key``, e.g. ``"table5"``), indexed ``by`` dataset or model."""
    key: str
    verdicts: pd.DataFrame
    by: str = "dataset"
    reference: pd.DataFrame | None = None     # the majority-class (and plain-CNN) rows below the paper's

    def table(self) -> present.Table:
        return present.table(results.verdict_table(self.verdicts, by=self.by, reference=self.reference),
                             self.key, decimals=4)

    @property
    def check(self) -> str:
        return results.range_check(self.verdicts)


def table(res: results.Results, key: str, by: str = "dataset") -> TableVerdicts:
    """The verdicts of the paper's table ``key`` on the runs ``res``."""
    return TableVerdicts(key, res.verdicts([key]), by, results.reference_rows(res, key, by))


@dataclass
class Summary:
    """The closing verdicts of a result chapter (see :func:`summary`)."""
    verdicts: pd.DataFrame        # every paper value of the chapter's tables with its verdict
    claims: pd.DataFrame          # the text claims checked on the chapter's runs
    findings: list[str]           # what happened in this run (bullets)
    sentences: list[str]          # the verdict sentence, then one per claim: the page's findings

    def tables(self) -> tuple[present.Table, present.Table]:
        """The verdict counts per table and the claims, formatted for the page."""
        return (present.table(results.verdict_counts(self.verdicts), "verdict-counts"),
                present.table(self.claims, "claims"))

    @property
    def check(self) -> str:
        """What nbval compares: the range check of every verdict and how many claims were checked."""
        return f"{results.range_check(self.verdicts)}\n{len(self.claims)} text claims checked"

    def show(self, ch) -> None:
        """Display what happened as a list, then each sentence as a finding of the chapter ``ch``
        (:meth:`dspic_lib.chapters.setup.Chapter.finding`, gathered into the book's summary)."""
        from IPython.display import display

        display(present.bullets(self.findings))
        for sentence in self.sentences:
            ch.finding(sentence)


def summary(res: results.Results, tables: Sequence[str], claim_keys: Sequence[str]) -> Summary:
    """The verdicts of ``tables`` and the text claims selected by ``claim_keys`` on the runs ``res``."""
    tables = list(tables)
    claims = results.claims_for(res, claim_keys)
    return Summary(verdicts=res.verdicts(tables), claims=claims, findings=results.findings(res, tables),
                   sentences=[results.verdict_sentence(res, tables), *results.claim_sentences(claims)])
