"""``primer serve``: the pipeline's per-document decisions over HTTP.

``config`` (the ``serve:`` section), ``decide`` and ``index`` (the decisions,
no Ray), ``app`` (the only module here that speaks Ray Serve), ``client`` (a
dependency-light HTTP client with retries).
"""
