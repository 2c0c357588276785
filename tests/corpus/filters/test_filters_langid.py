"""Language ID on short sentences written for the test, and its batch API."""

from __future__ import annotations

import pytest

from corpus.filters.langid import LanguageIdentifier, default_model_path, normalize_for_langid

SENTENCES = {
    "en": "The weather was lovely this morning, so we walked to the market together.",
    "de": "Das Wetter war heute Morgen schön, also sind wir zusammen zum Markt gegangen.",
    "fr": "Il faisait beau ce matin, alors nous sommes allés ensemble au marché.",
    "es": "Hacía buen tiempo esta mañana, así que fuimos juntos al mercado.",
    "ru": "Сегодня утром была прекрасная погода, поэтому мы вместе пошли на рынок.",
    "zh": "今天早上天气很好，所以我们一起去了市场买菜。",
    "ja": "今朝は天気がとても良かったので、私たちは一緒に市場へ行きました。",
    "it": "Stamattina il tempo era bello, così siamo andati insieme al mercato.",
    "pt": "O tempo estava ótimo esta manhã, então fomos juntos ao mercado.",
    "nl": "Het weer was vanochtend prachtig, dus we liepen samen naar de markt.",
}


@pytest.fixture(scope="module")
def lid() -> LanguageIdentifier:
    return LanguageIdentifier()


def test_model_is_the_bundled_file():
    path = default_model_path()
    assert path.name == "lid.176.ftz" and path.parent.name == "resources"


def test_batch_predicts_each_language(lid):
    langs = list(SENTENCES)
    preds = lid.predict([SENTENCES[k] for k in langs])
    assert [p[0] for p in preds] == langs
    for _, score in preds:
        assert 0.5 < score <= 1.0


def test_multiline_text_and_empty(lid):
    text = "Der Hund schläft.\nDie Katze spielt im Garten.\n\n  Es regnet draußen. "
    preds = lid.predict([text, "", "   \n\t", SENTENCES["en"]])
    assert preds[0][0] == "de"
    assert preds[1] == (None, None) and preds[2] == (None, None)
    assert preds[3][0] == "en"
    assert lid.predict([]) == []
    assert lid.predict_one(SENTENCES["fr"])[0] == "fr"


def test_normalisation_is_one_line_prefix():
    assert normalize_for_langid("a\n b\t\tc  \r\n d", 100) == "a b c d"
    assert normalize_for_langid("abcdef ghij", 4) == "abcd"


def test_prefix_decides(lid):
    # an English page with a long German tail: the 2,000-char prefix is English
    text = SENTENCES["en"] * 30 + SENTENCES["de"] * 60
    assert lid.predict([text])[0][0] == "en"
