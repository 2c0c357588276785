"""URL -> domain, the unit that per-domain statistics and caps work on."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_HAS_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_NO_HOST_SCHEME = re.compile(r"^(mailto|javascript|data|tel|urn|about):", re.IGNORECASE)


def domain(url: str | None) -> str | None:
    """Lowercase host without ``www.`` and port; None when there is no host.

    Accepts scheme-less URLs (Dolma's ``metadata.url`` is ``host/path``).
    """
    if not url:
        return None
    url = url.strip()
    if _NO_HOST_SCHEME.match(url):
        return None
    if not _HAS_SCHEME.match(url) and not url.startswith("//"):
        url = "//" + url  # otherwise urlsplit reads "example.com:80/x" as scheme "example.com"
    try:
        host = urlsplit(url).hostname
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    if not host:
        return None
    host = host.rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host or None
