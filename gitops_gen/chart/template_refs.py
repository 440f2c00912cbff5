"""Which values paths a chart's templates read, from the text of its Go templates.

A static reading, to a documented degree (README: validate):

- ``.Values.a.b``, ``$.Values.a.b`` and ``index .Values "a" "b"`` are reads of ``a.b``;
- variables follow what they are bound to: ``$g := .Values.global`` then ``$g.tls`` reads
  ``global.tls``; ``range $k, $v := .Values.m`` binds ``$v`` to every entry (``m.*``);
  ``with X`` and ``range X`` rebind ``.``; a ``| default …`` on the bound expression is ignored;
- the source of a binding is not a read by itself (``range .Values.m`` does not read all of
  ``m``), but any other use of a path reads all of it (``toYaml $svc.resources``);
- inside ``define`` bodies, ``.`` is unknown except ``.Values``, which is taken as the root's
  (helpers that read values are called with the root context);
- paths built at run time (``index $x $name``, ``get``, ``pluck``) are not followed.

A path read covers everything under it, and a read below a list covers the list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

Path_ = tuple[str, ...]  # a values path; "*" matches any key or list index
ROOT: Path_ = ()

_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)
_COMMENT = re.compile(r"^\s*/\*.*\*/\s*$", re.S)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`')
_TERM = re.compile(
    r"(?<![\w.$])(\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.(?![\w.]))"
)
_INDEX = re.compile(
    r"\bindex\s+(\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)"
    r"((?:\s+\"[^\"]*\")+)"
)
_BIND = re.compile(
    r"^\s*(?:(?P<kw>range|with|if|else\s+if|else\s+with)\s+)?"
    r"(?:(?P<v1>\$[A-Za-z0-9_]+)\s*(?:,\s*(?P<v2>\$[A-Za-z0-9_]+))?\s*:?=\s*)?(?P<expr>.*)$",
    re.S,
)
_OPENERS = ("if", "range", "with", "define", "block")


@dataclass
class _Frame:
    kind: str
    dot: Path_ | None
    vars: dict[str, Path_ | None] = field(default_factory=dict)


@dataclass
class _Reader:
    reads: set[Path_] = field(default_factory=set)
    stack: list[_Frame] = field(default_factory=list)

    def lookup(self, name: str) -> Path_ | None:
        if name == "$":
            return ROOT
        for frame in reversed(self.stack):
            if name in frame.vars:
                return frame.vars[name]
        return None

    @property
    def in_define(self) -> bool:
        return any(frame.kind == "define-root" for frame in self.stack)

    @property
    def dot(self) -> Path_ | None:
        return self.stack[-1].dot

    def resolve(self, term: str) -> Path_ | None:
        """A term's path from the root context (("Values", …) for values), or None."""
        if term.startswith("$"):
            head, _, rest = term.partition(".")
            base = self.lookup(head)
            tail = tuple(rest.split(".")) if rest else ()
        else:
            tail = tuple(p for p in term.split(".") if p)
            base = self.dot
            if base is None and tail[:1] == ("Values",) and self.in_define:
                return tail
        if base is None:
            return None
        return (*base, *tail)

    def read(self, path: Path_ | None) -> None:
        if path is not None and path[:1] == ("Values",) and len(path) > 1:
            self.reads.add(path[1:])


def _primary(expr: str) -> str | None:
    """The first term of a bound expression (``.Values.x | default dict`` -> ``.Values.x``)."""
    text = expr.strip().lstrip("(").strip()
    match = _TERM.match(text)
    return match.group(1) if match else None


def _index_reads(reader: _Reader, action: str) -> str:
    for match in _INDEX.finditer(action):
        base = reader.resolve(match.group(1))
        keys = tuple(re.findall(r'"([^"]*)"', match.group(2)))
        if base is not None:
            reader.read((*base, *keys))
    return _INDEX.sub(" ", action)


def _reads_in(reader: _Reader, action: str, skip: str | None = None) -> None:
    action = _index_reads(reader, action)
    text = _STRING.sub('""', action)
    skipped = False
    for match in _TERM.finditer(text):
        term = match.group(1)
        if term == skip and not skipped:
            skipped = True
            continue
        reader.read(reader.resolve(term))


def read_paths(text: str, reader: _Reader | None = None) -> set[Path_]:
    """The values paths one template file reads."""
    reader = reader or _Reader()
    reader.stack = [_Frame("file", ROOT)]
    for match in _ACTION.finditer(text):
        action = match.group(1).strip()
        if not action or _COMMENT.match(action):
            continue
        word = action.split(None, 1)[0]
        if word == "end":
            if len(reader.stack) > 1:
                reader.stack.pop()
            continue
        if word == "define" or word == "block":
            reader.stack.append(_Frame("define-root", None))
            continue
        if word == "else" and re.fullmatch(r"else", action):
            if len(reader.stack) > 1:
                reader.stack[-1].dot = reader.stack[-2].dot
            continue
        bind = _BIND.match(action)
        kw = re.sub(r"\s+", " ", bind.group("kw") or "") if bind else ""
        expr = bind.group("expr") if bind else action
        v1 = bind.group("v1") if bind else None
        v2 = bind.group("v2") if bind else None
        primary = _primary(expr)
        source = reader.resolve(primary) if primary else None
        if kw in {"range", "with", "else with"} or (v1 and not kw):
            _reads_in(reader, expr, skip=primary)
        else:
            _reads_in(reader, expr)
        element = (*source, "*") if source is not None else None
        if kw == "range":
            frame = _Frame("range", element if not v1 else reader.dot)
            if v1 and v2:
                frame.vars[v1] = None  # the key or index
                frame.vars[v2] = element
            elif v1:
                frame.vars[v1] = element
            reader.stack.append(frame)
        elif kw == "with":
            frame = _Frame("with", source if not v1 else reader.dot)
            if v1:
                frame.vars[v1] = source
            reader.stack.append(frame)
        elif kw == "else with":
            reader.stack[-1].dot = source
        elif kw == "if":
            reader.stack.append(_Frame("if", reader.dot))
        elif v1:
            reader.stack[-1].vars[v1] = source
            if v2:
                reader.stack[-1].vars[v2] = None
    return reader.reads


def chart_reads(templates: Iterable[Path]) -> set[Path_]:
    """Every values path the given template files read."""
    reads: set[Path_] = set()
    for path in templates:
        reads |= read_paths(path.read_text(encoding="utf-8", errors="replace"))
    return reads


def _matches(pattern: Path_, path: Path_) -> bool:
    return all(p == "*" or p == q for p, q in zip(pattern, path, strict=False))


def is_read(path: Path_, reads: Iterable[Path_]) -> bool:
    """True when some read covers ``path`` (a prefix of it) or reads below it (``path`` is a
    list or a map passed whole)."""
    return any(_matches(r, path) for r in reads)
