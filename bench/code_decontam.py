"""Code decontamination measured: recall on planted benchmark variants, false positives.

Variants of every HumanEval and MBPP solution (from the original files in
``../shared/data/benchmarks``), made with ``ast`` and unparsed:

- ``renamed``: every local identifier, argument and the function name renamed;
- ``reordered``: one pair of adjacent independent statements swapped (items with no
  such pair are not counted);
- ``literals``: every int/float literal + 1, every string literal extended;
- ``all``: the three together.

Each check (word n-grams of ``corpus.decontam``, AST statements, docstring
embedding, each run on its own, and their union) is scored by recall: the variant is flagged *for its
own item*. False positives: files of ``code-annotations.jsonl`` (cut files read up
to their longest parsing prefix) and the shipped standard-library sample, flagged
by any benchmark item.
"""

from __future__ import annotations

import ast
import json
from collections import defaultdict
from pathlib import Path

from corpus.decontam import BenchmarkIndex, _iter_jsonl
from corpus.decontam_code import (
    CodeDecontamConfig,
    DocEmbedder,
    benchmark_functions,
    check_code,
    function_prints,
    load_index,
)

SOURCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "benchmarks"
SETS = {"humaneval": "HumanEval.jsonl.gz", "mbpp": "mbpp.jsonl"}


class _Rename(ast.NodeTransformer):
    def __init__(self, names: set[str]):
        self.map = {n: f"var_{i}" for i, n in enumerate(sorted(names))}

    def visit_Name(self, node):
        node.id = self.map.get(node.id, node.id)
        return node

    def visit_arg(self, node):
        node.arg = self.map.get(node.arg, node.arg)
        return node

    def visit_FunctionDef(self, node):
        node.name = self.map.get(node.name, node.name)
        return self.generic_visit(node)


def _local_names(tree: ast.AST) -> set[str]:
    names = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            names.add(n.id)
        elif isinstance(n, ast.arg):
            names.add(n.arg)
        elif isinstance(n, ast.FunctionDef):
            names.add(n.name)
    return names


def renamed(code: str) -> str:
    tree = ast.parse(code)
    return ast.unparse(_Rename(_local_names(tree)).visit(tree))


class _Literals(ast.NodeTransformer):
    def visit_Constant(self, node):
        v = node.value
        if isinstance(v, bool) or v is None:
            return node
        if isinstance(v, int | float):
            return ast.Constant(v + 1)
        if isinstance(v, str) and len(v) < 40:  # not docstrings
            return ast.Constant(v + "_x")
        return node


def literals(code: str) -> str:
    return ast.unparse(_Literals().visit(ast.parse(code)))


def _rw(stmt: ast.stmt) -> tuple[set[str], set[str]]:
    reads, writes = set(), set()
    for n in ast.walk(stmt):
        if isinstance(n, ast.Name):
            (writes if isinstance(n.ctx, ast.Store) else reads).add(n.id)
        elif isinstance(n, ast.Call | ast.Attribute | ast.Subscript):
            writes.add("<effects>")  # calls and mutation may interact: never swapped
    return reads, writes


def reordered(code: str) -> str | None:
    tree = ast.parse(code)
    simple = (ast.Assign, ast.AugAssign, ast.AnnAssign)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for i in range(len(body) - 1):
            a, b = body[i], body[i + 1]
            if not (isinstance(a, simple) and isinstance(b, simple)):
                continue
            (ra, wa), (rb, wb) = _rw(a), _rw(b)
            if not (wa & (rb | wb)) and not (wb & ra) and "<effects>" not in wa | wb:
                body[i], body[i + 1] = b, a
                return ast.unparse(tree)
    return None


def variants(code: str) -> dict[str, str | None]:
    out = {"renamed": renamed(code), "reordered": reordered(code), "literals": literals(code)}
    r = reordered(code)
    out["all"] = literals(renamed(r)) if r else None
    return out


def measure(label_texts: list[str], sample_texts: list[str]) -> dict:
    cfg = CodeDecontamConfig()
    index = load_index()
    ngram = BenchmarkIndex()
    for name in SETS:
        ngram.add_builtin(name)
    ngram.build()
    found: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for bench, file_name in SETS.items():
        for rec in _iter_jsonl(SOURCE / file_name):
            for item, code, _text in benchmark_functions(rec, bench):
                try:
                    vs = variants(code)
                except (SyntaxError, ValueError):
                    continue
                for kind, text in vs.items():
                    if text is None:
                        continue
                    key = f"{bench}/{kind}"
                    found[key]["n"] += 1
                    g = {h.item for h in ngram.check(text) if h.benchmark == bench}
                    funcs = function_prints(text)
                    a = {h.item for h in index.check_ast(funcs, cfg.ast_threshold)}
                    docs = [f.doc_text for f in funcs if f.doc_text]
                    e = set()
                    if docs:  # each check on its own (check_code reports an item once)
                        vec = DocEmbedder.encode(docs)
                        e = {h.item for h in index.check_embed(vec, cfg.embed_threshold)}
                    found[key]["ngram"] += item in g
                    found[key]["ast"] += item in a
                    found[key]["embed"] += item in e
                    found[key]["code_any"] += item in a | e
                    found[key]["all_checks"] += item in a | e | g
    recall = {
        k: {m: round(v[m] / v["n"], 3) for m in ("ngram", "ast", "embed", "code_any", "all_checks")}
        | {"n": v["n"]}
        for k, v in sorted(found.items())
    }

    def false_positives(texts: list[str]) -> dict:
        flagged = {"ast": 0, "embed": 0, "any": 0}
        items = []
        for t in texts:
            hits = check_code(t, cfg, index)
            kinds = {h.kind for h in hits}
            for k in ("ast", "embed"):
                flagged[k] += k in kinds
            flagged["any"] += bool(hits)
            items += [f"{h.benchmark}/{h.item}/{h.kind}/{h.score}" for h in hits]
        n_funcs = sum(len(function_prints(t)) for t in texts)
        return {"files": len(texts), "functions": n_funcs, "flagged": flagged, "hits": items[:20]}

    return {
        "config": cfg.model_dump(),
        "recall_on_variants": recall,
        "false_positives": {
            "code_annotations": false_positives(label_texts),
            "code_sample": false_positives(sample_texts),
        },
        "embedder": "all-MiniLM-L6-v2" if DocEmbedder._model is not None else None,
    }


if __name__ == "__main__":
    print(json.dumps(measure([], []), indent=1))
