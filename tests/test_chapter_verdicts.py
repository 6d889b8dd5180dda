"""The verdict blocks of chapters 04 and 05 (dspic_lib.chapters.verdicts), on the fake runs of test_results."""
import pytest
from test_results import P, fake_run

from dspic_lib.chapters import present, verdicts
from dspic_lib.evaluation import results
from dspic_lib.pipeline import experiments


@pytest.fixture(scope="module")
def res():
    todo = experiments.plan(list(experiments.EXPERIMENTS), P)
    return results.Results(profile=P, runs={(m, d, s): fake_run(m, d, s) for m, d, s in todo})


def test_one_tables_verdicts_hold_only_that_table_and_its_range_check(res):
    t5 = verdicts.table(res, "table5")
    assert set(t5.verdicts["table"]) == {"table5"}
    assert t5.check == results.range_check(res.verdicts(["table5"]))
    shown = t5.table()
    assert isinstance(shown, present.Table) and "table5" in shown._repr_html_()
    t8 = verdicts.table(res, "table8", by="model")
    assert t8.table().styler.data.index.names == ["model", "metric"]


class FakeChapter:
    def __init__(self):
        self.found = []

    def finding(self, text):
        self.found.append(text)


def test_summary_counts_both_tables_checks_the_claims_and_records_every_sentence(res, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    keys = ["D1->D2", "beats dSPIC-RM"]
    s = verdicts.summary(res, ["table5", "table6"], keys)
    assert set(s.verdicts["table"]) == {"table5", "table6"}
    assert len(s.claims) > 0 and all(any(k in c for k in keys) for c in s.claims["claim"])
    assert s.check == (f"{results.range_check(res.verdicts(['table5', 'table6']))}\n"
                       f"{len(s.claims)} text claims checked")
    counts, claims = s.tables()
    assert "verdict-counts" in counts._repr_html_() and "claims" in claims._repr_html_()
    assert s.findings == results.findings(res, ["table5", "table6"])
    ch = FakeChapter()
    s.show(ch)
    assert ch.found == [results.verdict_sentence(res, ["table5", "table6"]),
                        *results.claim_sentences(s.claims)]
    assert [m.data for m in shown] == ["\n".join(f"- {f}" for f in s.findings)]     # the bullet list


def test_summary_of_other_tables_does_not_mix_in_the_first_chapters_values(res):
    s = verdicts.summary(res, ["table8", "table9"], ["removing the two pooling layers"])
    assert set(s.verdicts["table"]) == {"table8", "table9"}
    assert s.check.endswith(f"\n{len(s.claims)} text claims checked")
