import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from corpus.dedup.unionfind import UnionFind, connected_components


def test_union_and_find():
    uf = UnionFind(6)
    assert uf.union(0, 1) and uf.union(2, 3) and uf.union(1, 3)
    assert not uf.union(0, 2)
    assert uf.find(0) == uf.find(3) != uf.find(4)
    assert len(set(uf.roots().tolist())) == 3


def test_components_labelled_by_smallest_member():
    labels = connected_components(7, np.array([5, 3, 6]), np.array([3, 1, 6]))
    assert labels.tolist() == [0, 1, 2, 1, 4, 1, 6]


def test_long_chain_does_not_recurse():
    n = 200_000
    a = np.arange(n - 1)
    labels = connected_components(n, a[::-1], a[::-1] + 1)
    assert np.all(labels == 0)


def test_random_graphs_agree_with_scipy():
    rng = np.random.default_rng(0)
    for n, m in [(50, 20), (1000, 800), (2000, 5000)]:
        a, b = rng.integers(0, n, m), rng.integers(0, n, m)
        labels = connected_components(n, a, b)
        k, ref = scipy_components(coo_matrix((np.ones(m), (a, b)), shape=(n, n)), directed=False)
        assert len(np.unique(labels)) == k
        # Same partition: the pair (ours, theirs) is a bijection.
        assert len(set(zip(labels.tolist(), ref.tolist(), strict=True))) == k
