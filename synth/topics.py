"""Where topics come from: a topic file, a textbook's table of contents, or the corpus.

Corpus-seeded topics follow Cosmopedia: cluster the embeddings of high-scoring
documents, take the passage nearest each centroid as an exemplar seed, and name the
cluster by its most distinctive words. Coverage-directed synthesis: each cluster
also gets the share of the *kept* web corpus that falls near it, so generation can
target clusters the filtered web barely covers.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

Embedder = Callable[[list[str]], np.ndarray]
DEFAULT_TOPICS = Path(__file__).resolve().parent / "default_topics.yaml"


@dataclass(frozen=True)
class Topic:
    topic: str
    subtopics: tuple[str, ...] = ()
    audience: str | None = None  # fixed audience for this topic (None: rotate)
    context: str | None = None  # the book/course the topic belongs to
    seed_text: str | None = None  # exemplar passage (Cosmopedia-style seed)
    source: str = "file"  # file | toc | corpus


def _open_text(path: Path):
    return (
        gzip.open(path, "rt", encoding="utf-8")
        if path.suffix == ".gz"
        else path.open(encoding="utf-8")
    )


def _topic_from(obj: Any, source: str) -> Topic:
    if isinstance(obj, str):
        return Topic(topic=obj, source=source)
    if (
        not isinstance(obj, dict)
        or not isinstance(obj.get("topic"), str)
        or not obj["topic"].strip()
    ):
        raise ValueError(f"a topic needs a non-empty 'topic' string, got {obj!r}")
    return Topic(
        topic=obj["topic"].strip(),
        subtopics=tuple(obj.get("subtopics") or ()),
        audience=obj.get("audience"),
        context=obj.get("context"),
        seed_text=obj.get("seed_text"),
        source=source,
    )


def load_topic_file(path: str | Path) -> list[Topic]:
    """Topics from YAML (a list, or ``{topics: [...]}``) or JSONL, one per item/line.

    An item is a string or ``{topic, subtopics?, audience?, context?, seed_text?}``. A
    JSONL textbook (records with ``title`` and ``chapter``, no ``topic``) is read as a
    table of contents instead.
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".yaml", ".yml")):
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = data.get("topics", []) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ValueError(f"{path}: expected a list of topics")
        return [_topic_from(item, "file") for item in items]
    with _open_text(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if rows and all(isinstance(r, dict) and "topic" not in r and "title" in r for r in rows):
        return topics_from_toc(rows, book=path.name.split(".")[0])
    return [_topic_from(r, "file") for r in rows]


def topics_from_toc(
    records: Sequence[dict[str, Any]] | str | Path, book: str | None = None
) -> list[Topic]:
    """One topic per module of a textbook (``chapter``, ``title``, ``text``), e.g. OpenStax.

    Front matter (no chapter) and generic module titles ("Introduction", "Summary",
    "Chapter review"...) are skipped; the chapter becomes the topic's context and the
    module's opening text its seed passage.
    """
    if isinstance(records, str | Path):
        path = Path(records)
        with _open_text(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
        book = book or path.name.split(".")[0]
    generic = {
        "introduction",
        "summary",
        "chapter summary",
        "chapter review",
        "key terms",
        "exercises",
        "review questions",
        "glossary",
        "preface",
        "index",
    }
    out: list[Topic] = []
    for r in records:
        chapter, title = r.get("chapter"), (r.get("title") or "").strip()
        if not chapter or not title or title.lower() in generic:
            continue
        text = r.get("text") or ""
        out.append(
            Topic(
                topic=title,
                context=f"{chapter}" + (f" ({book})" if book else ""),
                seed_text=text[:1500] or None,
                source="toc",
            )
        )
    return out


@dataclass
class Cluster:
    label: int
    name: str  # most distinctive words of the cluster
    size: int  # high-scoring documents in it
    exemplar: str  # the document nearest the centroid: the seed passage
    coverage: int = 0  # kept web documents assigned to it
    coverage_share: float = 0.0  # coverage / kept documents assigned anywhere
    keywords: list[str] = field(default_factory=list)


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def cluster_topics(
    texts: Sequence[str],
    embed: Embedder,
    n_clusters: int = 20,
    covered: Sequence[str] = (),
    min_similarity: float = 0.35,
    seed: int = 0,
) -> list[Cluster]:
    """Cluster high-scoring ``texts`` (k-means on unit embeddings) and measure coverage.

    ``covered`` are kept web documents: each is assigned to its nearest centroid when
    cosine similarity >= ``min_similarity``. Clusters come back sorted by coverage share,
    least covered first: the order in which generation should target them.
    """
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(texts) < 2:
        raise ValueError("need at least two documents to cluster")
    k = max(1, min(n_clusters, len(texts)))
    emb = _normalise(embed(list(texts)))
    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(emb)
    centroids = _normalise(km.cluster_centers_)
    # Distinctive words per cluster: mean TF-IDF of its members, highest first.
    tfidf = TfidfVectorizer(
        stop_words="english", max_features=20000, token_pattern=r"(?u)\b[a-zA-Z]{3,}\b"
    )
    try:
        tf = tfidf.fit_transform(texts)
        vocab = np.array(tfidf.get_feature_names_out())
    except ValueError:  # empty vocabulary
        tf, vocab = None, np.array([])
    counts = np.zeros(k, dtype=np.int64)
    if len(covered):
        cov = _normalise(embed(list(covered))) @ centroids.T
        best = cov.argmax(axis=1)
        ok = cov[np.arange(len(best)), best] >= min_similarity
        counts = np.bincount(best[ok], minlength=k)
    total = max(int(counts.sum()), 1)
    clusters = []
    for c in range(k):
        members = np.flatnonzero(km.labels_ == c)
        nearest = members[np.argmax(emb[members] @ centroids[c])]
        keywords: list[str] = []
        if tf is not None and len(vocab):
            mean = np.asarray(tf[members].mean(axis=0)).ravel()
            keywords = vocab[np.argsort(-mean)[:5]].tolist()
        clusters.append(
            Cluster(
                label=c,
                name=" / ".join(keywords[:3]) or f"cluster {c}",
                size=len(members),
                exemplar=texts[nearest],
                coverage=int(counts[c]),
                coverage_share=float(counts[c]) / total,
                keywords=keywords,
            )
        )
    clusters.sort(key=lambda cl: (cl.coverage_share, -cl.size))
    return clusters


def topics_from_clusters(
    clusters: Sequence[Cluster], max_share: float | None = None
) -> list[Topic]:
    """Corpus-seeded topics, least covered first; ``max_share`` keeps only under-covered ones."""
    return [
        Topic(
            topic=cl.name,
            subtopics=tuple(cl.keywords[3:]),
            seed_text=cl.exemplar[:1500],
            source="corpus",
        )
        for cl in clusters
        if max_share is None or cl.coverage_share <= max_share
    ]


def sentence_embedder(model: str | None = None, batch_size: int = 32) -> Embedder:
    """The project's sentence-transformer (MiniLM offline by default) as an ``Embedder``."""
    from classifiers.embed import Embedder as DocEmbedder  # heavy import, only when used

    encoder = DocEmbedder(model, batch_size=batch_size)

    def embed(texts: list[str]) -> np.ndarray:
        return np.asarray(encoder.encode(texts))

    return embed
