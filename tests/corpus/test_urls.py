from __future__ import annotations

import pytest

from corpus.urls import domain


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.Example.COM/path?q=1", "example.com"),
        ("http://sub.example.co.uk:8080/x", "sub.example.co.uk"),
        ("//cdn.example.net/lib.js", "cdn.example.net"),
        ("16thfleet.wikidot.com/chatter:anewhome", "16thfleet.wikidot.com"),  # Dolma, no scheme
        ("example.com:8080/x", "example.com"),
        ("https://user:pw@www.example.org./", "example.org"),
        ("http://[::1]:80/", "::1"),
        ("https://www2.example.com/", "www2.example.com"),
        ("http://[::1/", None),
        ("mailto:someone@example.com", None),
        ("", None),
        (None, None),
        ("https:///nohost", None),
    ],
)
def test_domain(url: str | None, expected: str | None) -> None:
    assert domain(url) == expected
