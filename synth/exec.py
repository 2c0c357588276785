"""Executed exercises: run a code exercise's solution against its own tests, sandboxed.

Phi-1's CodeExercises are a signature + docstring + solution; a generation that
does not pass its own doctests teaches wrong code, so the synth gate keeps only
passing ones by default. ``parse_exercise`` takes the Python out of a generation
(fenced blocks if any, else the whole text) and counts what can be run: doctest
examples, module-level ``assert`` statements and ``test_*`` functions.
``run_exercise`` executes them in a child process:

- no network: the child runs under ``unshare -rn`` (a new, empty network
  namespace) where the kernel allows it, and always behind a socket guard
  installed before the solution is imported (``socket.socket`` and
  ``getaddrinfo`` raise);
- ``RLIMIT_CPU`` and ``RLIMIT_AS`` (a memory bomb gets ``MemoryError``), small
  ``RLIMIT_FSIZE``, a fresh temporary directory as cwd and ``HOME``, an emptied
  environment, ``python -I`` (no user site, no ``PYTHON*`` variables);
- its own process group, killed as a whole on the wall-clock timeout.

``exec_status``: ``passed`` (every test ran and passed), ``failed`` (a test or
the import failed), ``timeout`` (wall clock or CPU limit), ``syntax_error``
(``ast.parse`` fails; nothing is run) or ``no_tests`` (valid Python with nothing
to run: not evidence of correctness, so the default gate drops it too).
"""

from __future__ import annotations

import ast
import contextlib
import doctest
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

STATUSES = ("passed", "failed", "timeout", "syntax_error", "no_tests")
_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:\n```|\Z)", re.S | re.I)


@dataclass
class Exercise:
    code: str
    n_doctests: int = 0
    n_asserts: int = 0
    n_test_functions: int = 0
    main_asserts: int = 0  # of n_asserts, those under the __main__ guard
    syntax_error: str | None = None

    @property
    def n_tests(self) -> int:
        return self.n_doctests + self.n_asserts + self.n_test_functions


@dataclass
class ExecResult:
    status: str
    detail: str = ""
    n_tests: int = 0
    seconds: float = 0.0


def extract_code(text: str) -> str:
    """The Python of a generation: its fenced blocks joined, else the whole text."""
    blocks = [b.strip("\n") for b in _FENCE.findall(text or "")]
    return "\n\n".join(b for b in blocks if b.strip()) if blocks else (text or "").strip()


def parse_exercise(text: str) -> Exercise:
    code = extract_code(text)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError) as exc:  # ValueError: NUL bytes
        return Exercise(code, syntax_error=f"{type(exc).__name__}: {exc}")
    parser = doctest.DocTestParser()
    n_doc = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                try:
                    n_doc += len(parser.get_examples(doc))
                except ValueError:  # malformed doctest: counted, it will fail when run
                    n_doc += 1
    top = sum(isinstance(n, ast.Assert) for n in tree.body)
    main = sum(isinstance(n, ast.Assert) for n in _main_block(tree))
    tests = sum(
        isinstance(n, ast.FunctionDef) and n.name.startswith("test") and not n.args.args
        for n in tree.body
    )
    return Exercise(
        code, n_doctests=n_doc, n_asserts=top + main, n_test_functions=tests, main_asserts=main
    )


def _main_block(tree: ast.Module):
    """Statements under ``if __name__ == "__main__":``."""
    for node in tree.body:
        if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test):
            yield from node.body


# Runs inside the sandbox: guard sockets, import the solution as __main__-less module
# (its top-level asserts run), then doctests and test_* functions; one JSON line out.
_HARNESS = r"""
import json, socket, sys
def _blocked(*a, **k):
    raise OSError("network access is disabled in the exercise sandbox")
socket.socket = socket.create_connection = socket.getaddrinfo = _blocked
socket.socketpair = socket.fromfd = _blocked
import _socket
_socket.socket = _socket.getaddrinfo = _blocked
sys.path.insert(0, ".")
out = {"failures": 0, "tests": 0, "error": None}
try:
    import doctest, importlib, runpy
    mod = importlib.import_module("solution")  # top-level asserts run here
    res = doctest.testmod(mod, verbose=False, report=False)
    out["failures"] += res.failed; out["tests"] += res.attempted
    for name, fn in sorted(vars(mod).items()):
        if name.startswith("test") and callable(fn) and getattr(fn, "__module__", "") == "solution":
            out["tests"] += 1
            try:
                fn()
            except Exception as exc:
                out["failures"] += 1; out["error"] = f"{name}: {type(exc).__name__}: {exc}"[:300]
    if "--main" in sys.argv:  # asserts under `if __name__ == "__main__":`
        runpy.run_path("solution.py", run_name="__main__")
except MemoryError:
    out["error"] = "MemoryError"; out["failures"] += 1
except BaseException as exc:
    out["error"] = f"{type(exc).__name__}: {exc}"[:300]; out["failures"] += 1
sys.stdout.flush()
print("\n@@EXEC@@" + json.dumps(out))
"""


@lru_cache(maxsize=1)
def network_isolation() -> tuple[str, ...]:
    """The command prefix that gives a child no network (``unshare``), or () if none works."""
    exe = shutil.which("unshare")
    if not exe:
        return ()
    for flags in ("-n", "-rn"):
        try:
            ok = subprocess.run([exe, flags, "true"], capture_output=True, timeout=10).returncode
        except (OSError, subprocess.SubprocessError):
            continue
        if ok == 0:
            return (exe, flags)
    return ()


def _limits(cpu_s: int, memory_mb: int):
    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        mem = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024 * 1024,) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def run_exercise(
    text: str, timeout_s: float = 10.0, cpu_s: int = 10, memory_mb: int = 512
) -> ExecResult:
    """Parse and run one exercise in the sandbox; never raises for bad exercise code."""
    import time

    ex = parse_exercise(text)
    if ex.syntax_error:
        return ExecResult("syntax_error", ex.syntax_error)
    if not ex.n_tests:
        return ExecResult("no_tests", "no doctest, assert or test_* function")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="primer-exec-") as tmp:
        with open(os.path.join(tmp, "solution.py"), "w", encoding="utf-8") as f:
            f.write(ex.code)
        with open(os.path.join(tmp, "harness.py"), "w", encoding="utf-8") as f:
            f.write(_HARNESS)
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "LANG": "C.UTF-8", "TMPDIR": tmp}
        cmd = [*network_isolation(), sys.executable, "-I", "harness.py"]
        if ex.main_asserts:
            cmd.append("--main")
        proc = subprocess.Popen(
            cmd,
            cwd=tmp,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_limits(cpu_s, memory_mb),
        )
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return ExecResult("timeout", f"wall clock > {timeout_s}s", ex.n_tests, timeout_s)
        finally:
            _kill_group(proc)  # children the solution left behind
    seconds = round(time.perf_counter() - start, 3)
    if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return ExecResult("timeout", f"CPU limit {cpu_s}s", ex.n_tests, seconds)
    tail = out.decode("utf-8", "replace").rsplit("@@EXEC@@", 1)
    if len(tail) < 2:
        msg = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"rc {proc.returncode}"]
        return ExecResult("failed", msg[0][:300], ex.n_tests, seconds)
    res = json.loads(tail[1])
    if res["failures"] or res["error"]:
        return ExecResult(
            "failed", res["error"] or f"{res['failures']} failed", res["tests"], seconds
        )
    if not res["tests"] and not ex.n_asserts:
        return ExecResult("no_tests", "nothing ran", 0, seconds)
    return ExecResult("passed", "", res["tests"] + ex.n_asserts, seconds)


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def run_exercises(texts: list[str], workers: int = 2, **limits: float) -> list[ExecResult]:
    """``run_exercise`` over many texts, ``workers`` children at a time, in order."""
    if not texts:
        return []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda t: run_exercise(t, **limits), texts))
