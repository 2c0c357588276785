import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from corpus.dedup import verify
from corpus.dedup.candidates import (
    OLD_SALT,
    band_rows,
    bucket_edges,
    doc_bands,
    node_ids,
    old_band_rows,
)
from corpus.dedup.clusters import keep_order, resolve
from corpus.dedup.config import DedupConfig
from corpus.dedup.shingles import jaccard, shingle_set
from corpus.dedup.verify import Slots, edge_jaccards, edge_partitions, slot_rows


def rows(band, h, node, old=None) -> pa.Table:
    n = len(node)
    return pa.table(
        {
            "part": np.zeros(n, np.int32),
            "band": np.array(band, np.int16),
            "hash": np.array(h, np.uint64),
            "node": np.array(node, np.uint64),
            "old": np.array(old if old is not None else [False] * n),
        }
    )


def edges_of(t: pa.Table) -> set[tuple[int, int]]:
    return set(zip(t.column("a").to_pylist(), t.column("b").to_pylist(), strict=True))


def test_doc_bands_rows_and_identical_texts_share_all_bands():
    text = "one two three four five six seven eight nine ten"
    t = pa.table(
        {
            "uid": ["f:0", "f:1", "f:2"],
            "id": ["a", "b", "c"],
            "source_file": ["f", "f", "f"],
            "position": [0, 1, 2],
            "text": [text, "", text.upper()],
            "edu_score": [1.5, None, 2.0],
        }
    )
    out = doc_bands(t, DedupConfig())
    assert out.column("uid").to_pylist() == ["f:0", "f:2"]  # the empty text has no shingles
    b = np.array(out.column("bands").to_pylist(), dtype=np.uint64)
    assert b.shape == (2, 14) and np.array_equal(b[0], b[1])
    assert out.column("length").to_pylist() == [len(text)] * 2
    assert out.column("edu_score").to_pylist() == [1.5, 2.0]
    assert out.column("node").to_pylist() == node_ids(["f:0", "f:2"]).tolist()


def test_band_rows_scatter_partitions_and_salt_old_nodes():
    bands = np.arange(6, dtype=np.uint64).reshape(2, 3) * np.uint64(0x9E3779B97F4A7C15)
    t = band_rows(np.array([7, 9], np.uint64), bands, partitions=4)
    assert t.column("band").to_pylist() == [0, 1, 2, 0, 1, 2]
    assert t.column("node").to_pylist() == [7, 7, 7, 9, 9, 9]
    assert all(0 <= p < 4 for p in t.column("part").to_pylist())
    old = old_band_rows(
        pa.table({"uid": ["u"], "band": [1], "hash": pa.array([5], pa.uint64())}), 4
    )
    assert (
        old.column("node").to_pylist()
        == node_ids(["u"], OLD_SALT).tolist()
        != node_ids(["u"]).tolist()
    )
    assert old.column("old").to_pylist() == [True]


def test_bucket_edges_chain_pairs_and_old_only_buckets():
    t = rows(
        band=[0, 0, 0, 1, 1, 0, 2, 2],
        h=[5, 5, 5, 5, 6, 9, 3, 3],
        node=[30, 10, 20, 10, 20, 40, 50, 60],
        old=[False] * 6 + [True, True],
    )
    # Bucket (0,5) = {10,20,30} -> chain 10-20, 20-30; (1,5), (1,6), (0,9) singletons; (2,3) only old.
    assert edges_of(bucket_edges(t)) == {(10, 20), (20, 30)}
    assert edges_of(bucket_edges(t, max_pairs=3)) == {(10, 20), (10, 30), (20, 30)}
    assert edges_of(bucket_edges(t, max_pairs=2)) == {
        (10, 20),
        (10, 30),
    }  # star on the first member
    mixed = rows(band=[0, 0], h=[1, 1], node=[3, 4], old=[True, False])
    assert edges_of(bucket_edges(mixed)) == {(3, 4)}
    assert bucket_edges(rows([0], [1], [1])).num_rows == 0


def test_bucket_edges_pairs_and_stars_over_many_buckets_of_mixed_sizes():
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 9, 300)  # buckets of 1 to 8 members, each its own hash
    node = rng.permutation(int(sizes.sum())).astype(np.uint64) + np.uint64(1)
    h = np.repeat(np.arange(len(sizes)), sizes)
    old = np.repeat(np.arange(len(sizes)) % 7 == 0, sizes)  # every 7th bucket only old
    t = rows(band=np.zeros(len(node), int), h=h, node=node, old=old)
    for max_pairs in (2, 4, 8):
        want = set()
        for b, k in enumerate(sizes.tolist()):
            members = sorted(node[h == b].tolist())
            if k < 2 or b % 7 == 0:
                continue
            if k <= max_pairs:
                want |= {(x, y) for i, x in enumerate(members) for y in members[i + 1 :]}
            else:  # a star on the smallest node (the first member in node order)
                want |= {(members[0], y) for y in members[1:]}
        assert edges_of(bucket_edges(t, max_pairs=max_pairs)) == want


def attrs(nodes, uids, pos, length=None, score=None, old=None) -> pa.Table:
    n = len(nodes)
    return pa.table(
        {
            "node": pa.array(nodes, pa.uint64()),
            "uid": uids,
            "id": [f"id-{u}" for u in uids],
            "source_file": ["f"] * n,
            "position": pa.array(pos, pa.int64()),
            "length": pa.array(length or [10] * n, pa.int64()),
            "edu_score": pa.array(score or [None] * n, pa.float64()),
            "old": old or [False] * n,
        }
    )


def test_resolve_keeps_first_and_names_the_survivor():
    at = attrs([1, 2, 3, 4, 5], ["a", "b", "c", "d", "e"], [4, 0, 2, 3, 1])
    a = np.array([1, 3, 4], np.uint64)
    b = np.array([2, 2, 5], np.uint64)
    drops, clusters, stats = resolve(a, b, at)
    got = {r["uid"]: (r["dup_cluster"], r["duplicate_of"]) for r in drops.to_pylist()}
    # {a,b,c}: b has position 0; {d,e}: e has position 1.
    assert got == {"a": ("b", "id-b"), "c": ("b", "id-b"), "d": ("e", "id-e")}
    assert sorted((r["uid"], r["kept"]) for r in clusters.to_pylist()) == [
        ("a", False),
        ("b", True),
        ("c", False),
        ("d", False),
        ("e", True),
    ]
    assert stats["clusters"] == 2 and stats["dropped"] == 3


def test_keep_policies_and_earlier_corpus_wins():
    at = attrs([1, 2, 3], ["a", "b", "c"], [0, 1, 2], length=[5, 50, 20], score=[1.0, None, 3.0])
    assert keep_order(at, "first").tolist() == [0, 1, 2]
    assert keep_order(at, "longest").tolist() == [2, 0, 1]
    assert keep_order(at, "highest_score").tolist() == [1, 2, 0]  # missing score ranks last
    with pytest.raises(ValueError):
        keep_order(at, "random")
    at_old = attrs([1, 2, 9], ["a", "b", "old"], [0, 1, None], old=[False, False, True])
    drops, clusters, stats = resolve(
        np.array([1, 2], np.uint64), np.array([9, 9], np.uint64), at_old
    )
    assert {r["uid"]: r["duplicate_of"] for r in drops.to_pylist()} == {
        "a": "id-old",
        "b": "id-old",
    }
    assert (
        "old" not in clusters.column("uid").to_pylist()
    )  # earlier documents are not in this ledger
    assert stats["dropped_for_earlier_corpus"] == 2


def test_resolve_rejects_edges_to_unknown_nodes():
    with pytest.raises(ValueError):
        resolve(
            np.array([1], np.uint64), np.array([7], np.uint64), attrs([1, 2], ["a", "b"], [0, 1])
        )


def _jaccards(uids, texts, a, b, partitions, min_split=4096):
    slots = Slots.build(a, b, edge_partitions(a, b, partitions, min_split))
    rows = slot_rows(pa.table({"uid": uids, "text": texts}), slots, ngram=1)
    out = {}
    for p in set(rows.column("part").to_pylist()):
        t = edge_jaccards(rows.filter(pc.equal(rows.column("part"), p)))
        out.update(zip(*[t.column(c).to_pylist() for c in ("edge", "jaccard")], strict=True))
    return rows, out


def test_verification_rows_and_jaccard():
    texts = ["a b c d e f g h i j", "a b c d e f g h i k", "x y z"]
    uids = ["u0", "u1", "u2"]
    node = node_ids(uids)
    a, b = np.array([node[0], node[0]]), np.array([node[1], node[2]])
    rows, j = _jaccards(uids, texts, a, b, partitions=3)
    # One component: each document's shingles travel once, edges ride with the first end.
    assert rows.num_rows == 3
    assert sorted(sum(rows.column("edge").to_pylist(), [])) == [0, 1]
    assert j == pytest.approx({0: 9 / 11, 1: 0.0})
    # A document outside the candidate set contributes nothing.
    slots = Slots.build(a, b, edge_partitions(a, b, 3))
    none = slot_rows(pa.table({"uid": ["zz"], "text": ["q"]}), slots, 1)
    assert none.num_rows == 0


def test_verification_matches_pairwise_jaccard_when_components_are_split():
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(40)]
    texts = [" ".join(rng.choice(words, size=rng.integers(0, 30))) for _ in range(60)]
    uids = [f"u{i}" for i in range(60)]
    node = node_ids(uids)
    i, k = rng.integers(0, 60, 300), rng.integers(0, 60, 300)
    i, k = i[i != k], k[i != k]
    a, b = node[i], node[k]
    # One big component over 7 partitions: spread by edge, so documents get several slots.
    assert len(np.unique(edge_partitions(a, b, 7))) == 1
    assert len(np.unique(edge_partitions(a, b, 7, min_split=8))) > 1
    rows, j = _jaccards(uids, texts, a, b, partitions=7, min_split=8)
    assert rows.num_rows > 60
    sets = [shingle_set(t, 1) for t in texts]
    assert j == pytest.approx(
        {e: jaccard(sets[x], sets[y]) for e, (x, y) in enumerate(zip(i, k, strict=True))}
    )


def test_edge_partitions_keep_small_components_whole():
    a = np.array([1, 2, 10, 11, 20], np.uint64)
    b = np.array([2, 3, 11, 12, 21], np.uint64)
    part = edge_partitions(a, b, 3, min_split=2)
    assert part[0] == part[1] and part[2] == part[3]


def test_intersections_in_chunks(monkeypatch):
    monkeypatch.setattr(verify, "_QUERY_CHUNK", 3)
    values = np.array([1, 2, 3, 2, 3, 4, 5, 9], np.uint64)
    offsets = np.array([0, 3, 7, 7, 8])  # {1,2,3} {2,3,4,5} {} {9}
    got = verify.intersections(
        values, offsets, np.array([0, 1, 2, 3, 0]), np.array([1, 0, 1, 3, 3])
    )
    assert got.tolist() == [2, 2, 0, 1, 0]
