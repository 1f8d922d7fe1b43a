"""Mutation analysis of the graded exercises of chapters 1-7 (instructor tooling).

Every graded exercise's reference implementation (``autograde/reference/chNN.py``: the
function, or the class, that a graded test cell checks, plus the module's own helpers it
calls) is mutated one change at a time by a small AST mutator; each mutant is built in a
fresh copy of the reference module's namespace and graded as a student's answer by the
exercise's visible check (``rnncourse.checks.chNN.check_<name>``) and hidden check
(``autograde.hidden.chNN.check_<name>``), in a forked process with a time limit.  A mutant
is *killed* when either check raises (``CheckFailed``, any exception) or runs out of
time; otherwise it *survived*.  The oracle of the hidden checks is the untouched module
``autograde.reference.chNN``, so a mutant is never compared with itself.

Why not mutmut 3.x: it only mutates top-level functions and methods of top-level classes
(``OuterFunctionProvider``; chapter 2's ``CharRNN``/``LineClassifier`` are nested in
``_torch_models``), it runs pytest over a copied source tree with trampolines in place of
the module's functions, and the trampoline switches every caller to the mutant, the
hidden checks' oracle (``ref.<name>``) included, so the hidden checks would compare a
mutant with itself.

Usage::

    python -m autograde.mutants                  # all mutants, writes results/mutants.json
    python -m autograde.mutants --list ch02.rnn_step
    python -m autograde.mutants --only ch01.perplexity --jobs 2

Mutants have stable ids (``ch02.rnn_step#17``: the 17th mutant in enumeration order) and
keys (``chNN.exercise/function: source line :: change``) that survive edits elsewhere in the module;
``tests/mutants_equivalent.py`` is keyed by the latter.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import hashlib
import importlib
import inspect
import io
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass, field, asdict
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ("ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch07")
RESULTS = ROOT / "results" / "mutants.json"

# exercises whose checks train models: slow, the fast subset samples few of them
SLOW = {"ch01.sample": 2, "ch02.CharRNN": 2, "ch02.LineClassifier": 1, "ch03.train_tbptt": 2,
        "ch02.sample_with_temperature": 3, "ch04.init_for_memory": 2, "ch05.CharLSTM": 1, "ch05.SpaceRestorer": 1, "ch05.tune_and_score": 2,
        "ch06.Encoder": 2, "ch06.Decoder": 2, "ch06.AttentionDecoder": 2, "ch07.ConvEncoder": 2,
        "ch07.CaptionDecoder": 2}
FAST_SAMPLE = 5

# helpers that stand for code the notebook *gives* the student (chapter 1's lookup cell
# defines find_rows): not part of any exercise, never mutated
GIVEN_HELPERS = {"_row_keys", "_lookup"}

# the notebook's signature where the reference has extra reference-only parameters
ADAPTERS: dict[str, Callable[[Any], Any]] = {
    "ch01.kneser_ney_prob": lambda f: (lambda tables, V, q, D=0.75: f(tables, V, q, D)),
}

SWAP_BINOP = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Div, ast.Add], ast.Div: [ast.Mult],
              ast.FloorDiv: [ast.Div, ast.Mult], ast.Mod: [ast.FloorDiv], ast.Pow: [ast.Mult],
              ast.MatMult: [ast.Mult]}
NONCOMMUTATIVE = (ast.Sub, ast.Div, ast.MatMult, ast.FloorDiv, ast.Pow)
SWAP_CMP = {ast.Lt: [ast.LtE, ast.Gt], ast.LtE: [ast.Lt], ast.Gt: [ast.GtE, ast.Lt], ast.GtE: [ast.Gt],
            ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq], ast.Is: [ast.IsNot], ast.IsNot: [ast.Is],
            ast.In: [ast.NotIn], ast.NotIn: [ast.In]}
SWAP_NAME = {"sum": "mean", "mean": "sum", "max": "min", "min": "max", "maximum": "minimum",
             "minimum": "maximum", "argmax": "argmin", "argmin": "argmax", "zeros": "ones", "ones": "zeros",
             "zeros_like": "ones_like", "exp": "log", "log": "exp", "tanh": "sigmoid", "T": "mT"}
DROP_CALLS = {"copy", "detach", "clone"}
SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
          ast.Pow: "**", ast.MatMult: "@", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
          ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in",
          ast.NotIn: "not in", ast.And: "and", ast.Or: "or"}


@dataclass
class Mutant:
    id: str          # ch02.rnn_step#17
    exercise: str    # ch02.rnn_step
    function: str    # the function (or Class.method) it changes
    line: int        # line in autograde/reference/chNN.py
    source: str      # that line, stripped
    change: str      # what changed
    key: str = ""    # exercise/function: source :: change   (stable across unrelated edits)
    code: str = field(default="", repr=False)   # the mutated module


@dataclass
class Verdict:
    status: str      # "killed" | "survived"
    by: str = ""     # visible | hidden | timeout | build | crash
    message: str = ""
    seconds: float = 0.0


# --------------------------------------------------------------------------- exercises
def exercises(chapter: str) -> list[str]:
    """The graded exercises of a chapter: names with both a visible and a hidden check."""
    vis = importlib.import_module(f"rnncourse.checks.{chapter}")
    hid = importlib.import_module(f"autograde.hidden.{chapter}")
    names = [n[len("check_"):] for n, f in inspect.getmembers(vis, inspect.isfunction)
             if n.startswith("check_") and f.__module__ == vis.__name__ and hasattr(hid, n)]
    src = ast.parse(_module_source(chapter))
    order = {node.name: node.lineno for node in ast.walk(src) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    return sorted((n for n in names if n in order), key=lambda n: order[n])


def all_exercises() -> list[str]:
    return [f"{ch}.{n}" for ch in CHAPTERS for n in exercises(ch)]


def _module_source(chapter: str) -> str:
    return (ROOT / "autograde" / "reference" / f"{chapter}.py").read_text()


def _target_and_helpers(tree: ast.Module, name: str) -> list[ast.AST]:
    """The graded function/class node and the module-level functions it calls (transitively)."""
    target = next((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name), None)
    if target is None:
        raise KeyError(name)
    top = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name not in GIVEN_HELPERS}
    out, todo, seen = [target], [target], {name}
    while todo:
        node = todo.pop()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in top \
                    and sub.func.id not in seen:
                seen.add(sub.func.id)
                out.append(top[sub.func.id])
                todo.append(top[sub.func.id])
    return out


# --------------------------------------------------------------------------- the mutator
def _skip_nodes(root: ast.AST) -> set[int]:
    """ids of nodes never mutated: docstrings, annotations, raise messages, f-strings."""
    skip: set[int] = set()
    for node in ast.walk(root):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            if node.body and isinstance(node.body[0], ast.Expr) and isinstance(getattr(node.body[0], "value", None), ast.Constant):
                skip.update(id(n) for n in ast.walk(node.body[0]))
            if isinstance(node, ast.FunctionDef):
                for a in (*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs):
                    if a.annotation is not None:
                        skip.update(id(n) for n in ast.walk(a.annotation))
                if node.returns is not None:
                    skip.update(id(n) for n in ast.walk(node.returns))
        if isinstance(node, ast.Raise) and node.exc is not None:
            skip.update(id(n) for n in ast.walk(node.exc))
        if isinstance(node, ast.JoinedStr):
            skip.update(id(n) for n in ast.walk(node))
    return skip


def _qualname(tree: ast.Module, target: ast.AST) -> dict[int, str]:
    names: dict[int, str] = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                q = f"{prefix}.{child.name}" if prefix else child.name
                for n in ast.walk(child):
                    names[id(n)] = q
                visit(child, q)
            else:
                visit(child, prefix)
    visit(target, getattr(target, "name", ""))
    for n in ast.walk(target):
        names.setdefault(id(n), target.name)
    return names


def _edits(node: ast.AST, parent_field: tuple | None) -> Iterator[tuple[str, Callable[[ast.AST], None]]]:
    """(description, in-place edit of a *copy* of ``node``) for every mutation of one node."""
    seg = lambda n: ast.unparse(n)  # noqa: E731
    if isinstance(node, ast.BinOp):
        for new in SWAP_BINOP.get(type(node.op), []):
            yield (f"`{SYMBOL[type(node.op)]}` -> `{SYMBOL[new]}` in `{seg(node)}`",
                   lambda n, new=new: setattr(n, "op", new()))
        if isinstance(node.op, NONCOMMUTATIVE):
            yield (f"operands swapped in `{seg(node)}`",
                   lambda n: (lambda l, r: (setattr(n, "left", r), setattr(n, "right", l)))(n.left, n.right))
    elif isinstance(node, ast.AugAssign):
        for new in SWAP_BINOP.get(type(node.op), []):
            yield (f"`{SYMBOL[type(node.op)]}=` -> `{SYMBOL[new]}=`", lambda n, new=new: setattr(n, "op", new()))
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            for new in SWAP_CMP.get(type(op), []):
                def edit(n, i=i, new=new):
                    n.ops[i] = new()
                yield f"`{SYMBOL[type(op)]}` -> `{SYMBOL[new]}` in `{seg(node)}`", edit
    elif isinstance(node, ast.BoolOp):
        new = ast.Or if isinstance(node.op, ast.And) else ast.And
        yield (f"`{SYMBOL[type(node.op)]}` -> `{SYMBOL[new]}` in `{seg(node)}`", lambda n: setattr(n, "op", new()))
        for i in range(len(node.values)):
            def drop(n, i=i):
                del n.values[i]
            yield f"operand {i + 1} of `{SYMBOL[type(node.op)]}` dropped in `{seg(node)}`", drop
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)) \
            and not (isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)):
        yield f"unary `{'not' if isinstance(node.op, ast.Not) else '-'}` removed in `{seg(node)}`", "UNWRAP"
    elif isinstance(node, ast.Constant) and not isinstance(node.value, str) and node.value is not None:
        v = node.value
        if isinstance(v, bool):
            news = [not v]
        elif isinstance(v, int):
            news = [1] if v == 0 else [0, 2] if v == 1 else [v + 1, v - 1]
        elif isinstance(v, float):
            news = [1.0] if v == 0 else [0.0] if v == 1 else [v + 1.0]
        else:
            news = []
        for new in news:
            yield f"constant {v!r} -> {new!r}", lambda n, new=new: setattr(n, "value", new)
    elif isinstance(node, ast.keyword) and node.arg == "axis":
        old = ast.unparse(node.value)
        for new in ("0", "1", "-1"):
            if new != old:
                yield f"axis={old} -> axis={new}", lambda n, new=new: setattr(n, "value", ast.parse(new, mode="eval").body)
    elif isinstance(node, ast.Slice):
        for part in ("lower", "upper"):
            b = getattr(node, part)
            if b is None or isinstance(b, ast.Constant) or (isinstance(b, ast.UnaryOp) and isinstance(b.operand, ast.Constant)):
                continue
            for op, sym in ((ast.Add, "+"), (ast.Sub, "-")):
                yield (f"slice {part} bound `{seg(b)}` -> `{seg(b)} {sym} 1`",
                       lambda n, part=part, op=op: setattr(n, part, ast.BinOp(getattr(n, part), op(), ast.Constant(1))))
    elif isinstance(node, ast.Call):
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr in DROP_CALLS and not node.args and not node.keywords:
            yield f"`.{f.attr}()` removed in `{seg(node)}`", "DROPCALL"
        pos = node.args
        for i in range(len(pos) - 1):
            a, b = pos[i], pos[i + 1]
            if type(a) is type(b) and not isinstance(a, ast.Starred) and seg(a) != seg(b) \
                    and (not isinstance(a, ast.Constant) or type(a.value) is type(b.value)):
                def swap(n, i=i):
                    n.args[i], n.args[i + 1] = n.args[i + 1], n.args[i]
                yield f"arguments {i + 1} and {i + 2} swapped in `{seg(node)}`", swap
    if isinstance(node, ast.Attribute) and node.attr in SWAP_NAME:
        new = SWAP_NAME[node.attr]
        yield f"`.{node.attr}` -> `.{new}`", lambda n, new=new: setattr(n, "attr", new)
    if isinstance(node, (ast.If, ast.While, ast.IfExp)):
        yield f"condition negated: `not ({seg(node.test)})`", lambda n: setattr(n, "test", ast.UnaryOp(ast.Not(), n.test))
        if isinstance(node, ast.If) and node.orelse:
            yield f"`else` branch of `if {seg(node.test)}` dropped", lambda n: setattr(n, "orelse", [])
    if isinstance(node, ast.stmt) and not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Pass)) \
            and parent_field is not None:
        text = seg(node).splitlines()[0]
        yield f"statement deleted: `{text[:60]}`", "DELETE"


def _locations(root: ast.AST) -> Iterator[tuple[ast.AST, ast.AST | None, str | None, int | None]]:
    """Every node under ``root`` with its parent, field and index in that field."""
    for parent in ast.walk(root):
        for fname, value in ast.iter_fields(parent):
            if isinstance(value, list):
                for i, child in enumerate(value):
                    if isinstance(child, ast.AST):
                        yield child, parent, fname, i
            elif isinstance(value, ast.AST):
                yield value, parent, fname, None


def _follow(tree: ast.AST, path):
    node = tree
    for fname, i in path:
        node = getattr(node, fname) if i is None else getattr(node, fname)[i]
    return node


def _paths(tree: ast.AST) -> dict[int, list[tuple[str, int | None]]]:
    """The field path from ``tree`` to every node under it, by ``id`` (one traversal)."""
    out: dict[int, list[tuple[str, int | None]]] = {id(tree): []}
    stack = [tree]
    while stack:
        node = stack.pop()
        base = out[id(node)]
        for fname, value in ast.iter_fields(node):
            items = enumerate(value) if isinstance(value, list) else [(None, value)]
            for i, child in items:
                if isinstance(child, ast.AST) and id(child) not in out:
                    out[id(child)] = base + [(fname, i)]
                    stack.append(child)
    return out


def _put(parent: ast.AST, fname: str, i: int | None, node: ast.AST) -> None:
    if i is None:
        setattr(parent, fname, node)
    else:
        getattr(parent, fname)[i] = node


def unparse_module(tree: ast.Module) -> str:
    """The module's code as :func:`mutants` writes it: each top-level statement unparsed,
    one per line (the same program as ``ast.unparse(tree)``)."""
    return "\n".join(ast.unparse(s) for s in tree.body)


def mutants(exercise: str) -> list[Mutant]:
    """All mutants of one exercise (``"ch02.rnn_step"``), in a deterministic order.

    Each mutant is made by putting an edited copy of one node (or its replacement) into
    the module's tree, unparsing the top-level statement that holds it and putting the
    original node back: the same code as editing a deep copy of the whole tree, without
    copying it, or unparsing the unchanged statements, per mutant.  A mutant's ``code`` is
    the module as :func:`unparse_module` writes it."""
    chapter, name = exercise.split(".")
    source = _module_source(chapter)
    lines = source.splitlines()
    tree = ast.parse(source)
    statements = [ast.unparse(s) for s in tree.body]
    original = "\n".join(statements)
    paths = _paths(tree)
    out: list[Mutant] = []
    seen_code = {original}
    seen_keys: dict[str, int] = {}
    for root in _target_and_helpers(tree, name):
        skip = _skip_nodes(root)
        quals = _qualname(tree, root)
        locs = [(root, None, None, None)] + list(_locations(root))
        for node, parent, fname, idx in locs:
            if id(node) in skip:
                continue
            in_body = parent is not None and isinstance(getattr(parent, fname, None), list) and fname in ("body", "orelse", "finalbody")
            path = paths[id(node)]
            holder = _follow(tree, path[:-1])
            f, i = path[-1]
            for change, edit in _edits(node, (fname, idx) if in_body else None):
                if edit == "UNWRAP":
                    repl = node.operand
                elif edit == "DROPCALL":
                    repl = node.func.value
                elif edit == "DELETE":
                    repl = ast.Pass()
                else:
                    repl = copy.deepcopy(node)
                    edit(repl)
                top = path[0][1] if path else None        # the top-level statement it is in
                _put(holder, f, i, repl)
                try:
                    if top is None:
                        continue
                    edited = ast.unparse(tree.body[top])
                    compile(edited, f"<mutant {exercise}>", "exec")
                except Exception:
                    continue
                finally:
                    _put(holder, f, i, node)
                code = "\n".join(statements[:top] + [edited] + statements[top + 1:])
                if code in seen_code:
                    continue
                seen_code.add(code)
                lineno = getattr(node, "lineno", getattr(parent, "lineno", 0))
                text = lines[lineno - 1].strip() if lineno else ""
                key = f"{exercise}/{quals.get(id(node), name)}: {text} :: {change}"
                seen_keys[key] = seen_keys.get(key, 0) + 1
                if seen_keys[key] > 1:
                    key += f" (#{seen_keys[key]})"
                out.append(Mutant(id=f"{exercise}#{len(out) + 1}", exercise=exercise,
                                  function=quals.get(id(node), name), line=lineno, source=text,
                                  change=change, key=key, code=code))
    return out


# --------------------------------------------------------------------------- grading
def build(exercise: str, code: str | None = None) -> Any:
    """The graded object of a (mutated) reference module, built in a fresh namespace."""
    chapter, name = exercise.split(".")
    code = ast.unparse(ast.parse(_module_source(chapter))) if code is None else code
    ns: dict[str, Any] = {"__name__": f"autograde.reference.{chapter}_mutant", "__builtins__": __builtins__}
    exec(compile(code, f"<{exercise} mutant>", "exec"), ns)
    obj = ns[name] if name in ns else ns["__getattr__"](name)
    return ADAPTERS.get(exercise, lambda f: f)(obj)


def check(exercise: str, obj: Any) -> Verdict:
    """Grade ``obj`` in this process: the visible check, then the hidden one."""
    chapter, name = exercise.split(".")
    t0 = time.perf_counter()
    for kind, module in (("visible", f"rnncourse.checks.{chapter}"), ("hidden", f"autograde.hidden.{chapter}")):
        fn = getattr(importlib.import_module(module), f"check_{name}")
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                fn(obj)
        except BaseException as exc:  # CheckFailed, AssertionError or any crash kills the mutant
            msg = str(exc).strip().splitlines()
            return Verdict("killed", kind, f"{type(exc).__name__}: {msg[0] if msg else ''}"[:300],
                           time.perf_counter() - t0)
    return Verdict("survived", "", "", time.perf_counter() - t0)


def _child(conn, exercise: str, make: Callable[[], Any]) -> None:
    try:
        with contextlib.suppress(Exception):
            import torch
            torch.set_num_threads(1)
        t0 = time.perf_counter()
        try:
            obj = make()
        except BaseException as exc:
            verdict = Verdict("killed", "build", f"{type(exc).__name__}: {exc}"[:300], time.perf_counter() - t0)
        else:
            verdict = check(exercise, obj)
        conn.send(asdict(verdict))
    except BaseException:
        with contextlib.suppress(Exception):
            conn.send(asdict(Verdict("killed", "crash", traceback.format_exc()[-300:])))
    finally:
        conn.close()
        os._exit(0)


def _preload() -> None:
    """Import what every child needs once, before forking (no torch computation here:
    OpenMP thread pools do not survive a fork)."""
    import numpy  # noqa: F401
    with contextlib.suppress(ImportError):
        import torch  # noqa: F401
    for ch in CHAPTERS:
        for m in (f"autograde.reference.{ch}", f"rnncourse.checks.{ch}", f"autograde.hidden.{ch}"):
            importlib.import_module(m)


def grade_many(jobs: list[tuple[str, Callable[[], Any], float]], workers: int = 2,
               on_result: Callable[[int, Verdict], None] | None = None) -> list[Verdict]:
    """Grade ``(exercise, make_object, time_limit)`` jobs, each in a forked process,
    ``workers`` at a time; a process over its time limit is killed (a kill)."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    _preload()
    ctx = mp.get_context("fork")
    results: list[Verdict | None] = [None] * len(jobs)
    running: dict[Any, tuple[int, Any, Any, float]] = {}
    nxt = 0
    while nxt < len(jobs) or running:
        while nxt < len(jobs) and len(running) < workers:
            exercise, make, limit = jobs[nxt]
            recv, send = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_child, args=(send, exercise, make), daemon=True)
            p.start()
            send.close()
            running[p.sentinel] = (nxt, p, recv, time.perf_counter() + limit)
            nxt += 1
        now = time.perf_counter()
        soonest = min(d for _, _, _, d in running.values())
        ready = wait([r for _, _, r, _ in running.values()] + list(running), timeout=max(0.0, soonest - now))
        for sentinel in list(running):
            i, p, recv, deadline = running[sentinel]
            verdict = None
            if recv in ready or sentinel in ready:
                try:
                    verdict = Verdict(**recv.recv()) if recv.poll() else None
                except EOFError:
                    verdict = None
                if verdict is None:
                    p.join(1)
                    if p.is_alive():
                        continue
                    verdict = Verdict("killed", "crash", f"process died (exit code {p.exitcode})")
            elif time.perf_counter() > deadline:
                p.kill()
                verdict = Verdict("killed", "timeout", f"over the {jobs[i][2]:.0f} s limit", jobs[i][2])
            else:
                continue
            p.join(5)
            recv.close()
            del running[sentinel]
            results[i] = verdict
            if on_result:
                on_result(i, verdict)
    return results  # type: ignore[return-value]


def grade_one(exercise: str, make: Callable[[], Any], limit: float = 120.0) -> Verdict:
    return grade_many([(exercise, make, limit)], workers=1)[0]


def grade_mutant(m: Mutant, limit: float = 120.0) -> Verdict:
    return grade_one(m.exercise, lambda: build(m.exercise, m.code), limit)


# --------------------------------------------------------------------------- samples, registry
def sample(exercise: str, ms: list[Mutant] | None = None) -> list[Mutant]:
    """The fast subset: a fixed sample chosen by a hash of each mutant's key (stable when
    unrelated mutants appear or vanish)."""
    ms = mutants(exercise) if ms is None else ms
    k = SLOW.get(exercise, FAST_SAMPLE)
    return sorted(ms, key=lambda m: hashlib.sha256(m.key.encode()).hexdigest())[:k]


def registry() -> tuple[dict[str, str], dict[str, str]]:
    """(equivalent, pending) from tests/mutants_equivalent.py: key -> reason."""
    sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None
    mod = importlib.import_module("tests.mutants_equivalent")
    return dict(mod.EQUIVALENT), dict(getattr(mod, "PENDING", {}))


# --------------------------------------------------------------------------- the whole run
def run(selection: list[str], workers: int = 2, out: Path | None = RESULTS, quiet: bool = False) -> dict:
    equivalent, pending = registry()
    t_start = time.perf_counter()
    base = {ex: grade_one(ex, lambda ex=ex: build(ex), 600) for ex in selection}
    for ex, v in base.items():
        if v.status != "survived":
            raise SystemExit(f"the unmutated reference of {ex} fails its checks: {v.by}: {v.message}")
    report: dict[str, Any] = {"command": "make mutants (python -m autograde.mutants)", "mode": os.environ.get("RNNCOURSE_MODE", ""),
                              "workers": workers, "exercises": {}}
    for ex in selection:
        ms = mutants(ex)
        limit = max(20.0, 10 * base[ex].seconds + 10)
        t0 = time.perf_counter()
        if not quiet:
            print(f"{ex}: {len(ms)} mutants (reference {base[ex].seconds:.2f} s, limit {limit:.0f} s)", flush=True)
        verdicts = grade_many([(ex, lambda m=m: build(m.exercise, m.code), limit) for m in ms], workers)
        seconds = time.perf_counter() - t0
        killed = [m for m, v in zip(ms, verdicts) if v.status == "killed"]
        surv = [(m, v) for m, v in zip(ms, verdicts) if v.status == "survived"]
        eq = [m for m, _ in surv if m.key in equivalent]
        eq_killed = [m for m in killed if m.key in equivalent]
        open_ = [m for m, _ in surv if m.key not in equivalent]
        nonequiv = len(ms) - len(eq)
        report["exercises"][ex] = {
            "mutants": len(ms), "killed": len(killed), "equivalent": len(eq), "survivors": len(open_),
            "kill_rate": round(len(killed) / nonequiv, 4) if nonequiv else 1.0,
            "seconds": round(seconds, 1), "reference_seconds": round(base[ex].seconds, 2),
            "killed_by": {k: sum(1 for v in verdicts if v.by == k) for k in ("visible", "hidden", "timeout", "build", "crash")},
            "survivor_list": [{"id": m.id, "line": m.line, "source": m.source, "change": m.change, "key": m.key,
                               "pending_check": pending.get(m.key, "")} for m in open_],
            "equivalent_list": [{"id": m.id, "line": m.line, "source": m.source, "change": m.change, "key": m.key,
                                 "reason": equivalent[m.key]} for m in eq],
            "equivalent_but_killed": [{"id": m.id, "key": m.key} for m in eq_killed],
        }
    report["seconds"] = round(time.perf_counter() - t_start, 1)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists() and set(selection) != set(all_exercises()):
            old = json.loads(out.read_text())
            old.setdefault("exercises", {}).update(report["exercises"])
            report = {**old, "exercises": old["exercises"]}
        # the grading time of every exercise, summed (runs of several selections merge here)
        report["seconds"] = round(sum(r["seconds"] for r in report["exercises"].values()), 1)
        out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    if not quiet:
        print(table(report))
    return report


def reclassify(path: Path = RESULTS) -> dict:
    """Re-split the survivors of a results file with the current registry (no grading):
    after editing tests/mutants_equivalent.py, ``python -m autograde.mutants --reclassify``."""
    equivalent, pending = registry()
    report = json.loads(path.read_text())
    for ex, r in report["exercises"].items():
        surv = r["survivor_list"] + [{**e, "source": e.get("source", "")} for e in r["equivalent_list"]]
        r["survivor_list"] = [{k: v for k, v in s.items() if k != "reason"} | {"pending_check": pending.get(s["key"], "")}
                              for s in surv if s["key"] not in equivalent]
        r["equivalent_list"] = [{"id": s["id"], "line": s["line"], "source": s.get("source", ""), "change": s["change"],
                                 "key": s["key"], "reason": equivalent[s["key"]]} for s in surv if s["key"] in equivalent]
        r["survivor_list"].sort(key=lambda s: int(s["id"].split("#")[1]))
        r["equivalent_list"].sort(key=lambda s: int(s["id"].split("#")[1]))
        r["equivalent"], r["survivors"] = len(r["equivalent_list"]), len(r["survivor_list"])
        nonequiv = r["mutants"] - r["equivalent"]
        r["kill_rate"] = round(r["killed"] / nonequiv, 4) if nonequiv else 1.0
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(table(report))
    return report


def table(report: dict) -> str:
    rows = [f"{'exercise':34} {'mutants':>7} {'killed':>7} {'equiv':>6} {'surv':>5} {'kill%':>7} {'time s':>7}"]
    tot = [0, 0, 0, 0]
    for ex, r in report["exercises"].items():
        rows.append(f"{ex:34} {r['mutants']:7d} {r['killed']:7d} {r['equivalent']:6d} {r['survivors']:5d} "
                    f"{100 * r['kill_rate']:6.1f}% {r['seconds']:7.1f}")
        for i, k in enumerate(("mutants", "killed", "equivalent", "survivors")):
            tot[i] += r[k]
    rate = tot[1] / max(tot[0] - tot[2], 1)
    rows.append(f"{'total':34} {tot[0]:7d} {tot[1]:7d} {tot[2]:6d} {tot[3]:5d} {100 * rate:6.1f}% {report.get('seconds', 0):7.1f}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m autograde.mutants", description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", help="exercises (ch01.perplexity) or chapters (ch02)")
    ap.add_argument("--list", nargs="*", help="print the mutants of these exercises and exit")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--reclassify", action="store_true",
                    help="re-split the survivors of --out with the current tests/mutants_equivalent.py (no grading)")
    args = ap.parse_args(argv)
    if args.reclassify:
        reclassify(Path(args.out))
        return 0
    everything = all_exercises()
    if args.list is not None:
        for ex in args.list or everything:
            for m in mutants(ex):
                print(f"{m.id:28} line {m.line:4}  {m.change}   [{m.source}]")
        return 0
    sel = everything
    if args.only:
        sel = [e for e in everything if e in args.only or e.split(".")[0] in args.only]
    rep = run(sel, args.jobs, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
