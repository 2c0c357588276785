"""The licence rule: licence texts go with a reason, text that merely quotes one stays."""

from __future__ import annotations

from corpus.filters.quality import QualityRules
from corpus.filters.stage import FilterStage
from tests.corpus.filters.filter_texts import GOOD_TEXT, only, reason

MIT = """MIT License

Copyright (c) 2020 Example Authors

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the "Software"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."""

BSD = """Copyright (c) 2014, Example Project
All rights reserved.

Redistribution and use in source and binary forms, with or without modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice, this list of conditions and the following disclaimer in the documentation and/or other materials provided with the distribution.

3. Neither the name of the copyright holder nor the names of its contributors may be used to endorse or promote products derived from this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED."""

GPL_NOTICE = """This program is free software: you can redistribute it and/or modify it under the terms of the GNU General Public License as published by the Free Software Foundation, either version 3 of the License, or (at your option) any later version.

This program is distributed in the hope that it will be useful, but WITHOUT ANY WARRANTY; without even the implied warranty of MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See the GNU General Public License for more details.

You should have received a copy of the GNU General Public License along with this program. If not, see the licence page of the Free Software Foundation."""


def test_licence_texts_are_dropped_with_a_reason():
    cfg = only("boilerplate")
    for text in (MIT, BSD, GPL_NOTICE):
        assert reason(text, cfg) == "boilerplate_licence", text[:40]


def test_prose_and_a_readme_quoting_its_licence_are_kept():
    cfg = only("boilerplate")
    assert reason(GOOD_TEXT, cfg) is None
    # A long README whose last section is the MIT licence: the phrases are there, but
    # only a small share of its words are legal terms.
    readme = "\n\n".join([GOOD_TEXT] * 12) + "\n\n## License\n\n" + MIT
    values = QualityRules(cfg).assess(readme).values
    assert values["licence_phrases"] >= 3 and values["licence_term_share"] < 0.02
    assert reason(readme, cfg) is None


def test_thresholds_come_from_the_config():
    assert reason(MIT, only("boilerplate", min_phrases=4)) is None
    assert reason(MIT, only("boilerplate", min_term_share=None)) is None
    assert reason(MIT, only("boilerplate", min_term_share=0.5)) is None


def test_filter_stage_drops_a_licence_in_the_quality_stage():
    batch = {"id": ["mit", "good"], "text": [MIT, GOOD_TEXT]}
    out = FilterStage()(batch)
    assert out["drop_stage"] == ["quality", None]
    assert out["drop_reason"] == ["boilerplate_licence", None]
    assert out["quality"][0]["licence_phrases"] == 3


def test_every_signature_holds_an_anchor_word():
    # the phrase searches are skipped for texts without any anchor: none may be missed
    from corpus.filters.boilerplate import _ANCHORS, SIGNATURES

    for phrase in SIGNATURES:
        assert any(a in phrase for a in _ANCHORS), phrase
        assert phrase == " ".join(phrase.lower().split())
    assert not any(c.isspace() for a in _ANCHORS for c in a)


def test_every_legal_term_holds_a_stem():
    # the legal-term count is skipped for texts without any stem: none may be missed
    from corpus.filters.boilerplate import _LEGAL, _LEGAL_STEMS

    for term in _LEGAL:
        assert any(s in term for s in _LEGAL_STEMS), term
