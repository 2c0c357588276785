"""Toxicity: the offline classifier, word list and URL blocklist, and the stage's drops."""

from __future__ import annotations

from corpus.toxicity import ToxicityConfig, ToxicityScorer, ToxicityStage, chunks

CLEAN = (
    "Photosynthesis turns light into chemical energy. The chloroplast holds chlorophyll. "
    "Plants release oxygen as a by-product, which animals breathe. "
) * 4
ABUSE = "You are a stupid worthless idiot and everyone hates you. Shut up, you moron. " * 6


def _batch(texts, urls=None):
    n = len(texts)
    return {
        "text": texts,
        "url": urls or [None] * n,
        "drop_stage": [None] * n,
        "drop_reason": [None] * n,
    }


def test_model_scores_abuse_high_and_a_lesson_low():
    scorer = ToxicityScorer()
    (clean_share, clean_max), (abuse_share, abuse_max) = scorer.model_scores([CLEAN, ABUSE])
    assert clean_share == 0.0 and clean_max < 0.5
    assert abuse_share > 0.9 and abuse_max > 0.9


def test_stage_drops_clear_cases_only_and_stores_scores():
    one_insult = CLEAN * 2 + "\n" + ABUSE[:80] + "\n" + CLEAN  # one abusive sentence
    texts = [CLEAN, ABUSE, one_insult, CLEAN]
    urls = [None, None, None, "https://videos.xxx/clip?id=3"]
    out = ToxicityStage(ToxicityConfig()).process(_batch(texts, urls))
    assert out["drop_reason"] == [None, "toxicity:model", None, "toxicity:url"]
    assert 0.1 < out["toxicity"][2] < 0.5 and out["toxicity_max"][2] > 0.5
    words = ToxicityStage(ToxicityConfig(model=False)).process(_batch(["fuck " * 10 + CLEAN]))
    assert words["drop_reason"] == ["toxicity:words"] and words["toxic_words"] == [10]
    assert words["toxicity"] == [None]
    # re-thresholding is a config change: a stricter share drops the single insult too
    strict = ToxicityStage(ToxicityConfig(max_share=0.1)).process(_batch([one_insult]))
    assert strict["drop_reason"] == ["toxicity:model"]


def test_url_blocklist_matches_domains_and_whole_url_words():
    scorer = ToxicityScorer()
    assert scorer.url_blocked("https://m.xhamster.com/videos/1")
    assert scorer.url_blocked("http://example.org/free-porn-clips")
    assert not scorer.url_blocked("https://www.sussex.ac.uk/essex-history")
    assert not scorer.url_blocked(None)


def test_chunks_pack_sentences():
    parts = chunks("One. Two! Three?\nFour.", size=10, limit=1000)
    assert parts == ["One. Two!", "Three?", "Four."]


def test_fast_counts_give_profanity_checks_exact_probabilities():
    import numpy as np
    from profanity_check import profanity_check as pc
    from sklearn.feature_extraction.text import CountVectorizer

    from corpus.toxicity import _model

    texts = [
        CLEAN, ABUSE, "", "a", "the and of", "Ünïcödé ΣΟΦΙΑΣ straße İstanbul 東京 fuck", "x" * 50,
        "Shut UP shut up SHUT up you_idiot idiot2 __ 12 345", "\n\t  ", ABUSE[:40] + CLEAN,
    ]  # fmt: skip
    fast = _model()
    mine, ref = fast.counts(texts), CountVectorizer.transform(pc.vectorizer, texts)
    assert type(mine) is type(ref) and mine.dtype == ref.dtype and mine.shape == ref.shape
    for a in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(mine, a), getattr(ref, a))
    # bit-identical, not merely close: stored scores must not move
    assert fast(texts).tolist() == pc.predict_prob(texts).tolist()


def test_word_hits_are_the_a_to_z_runs_of_the_lower_case():
    import random
    import re

    scorer = ToxicityScorer()
    listed = sorted(scorer.words)[:5]
    rng = random.Random(0)
    alphabet = list("abzAZ09 _-.\n\t\xa0éÉß東İK\ud800") + listed + [w.upper() for w in listed]
    for _ in range(3000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 30)))
        words = re.findall("[a-z]+", text.lower())
        assert scorer.word_hits(text) == (sum(w in scorer.words for w in words), len(words))
