"""The small slice of TDL formulae the simulator evaluates in collection FILTERs (reference §6).

Supported: `$Field` compared (=, <>, !=, >, >=, <, <=) with a number, a "string", Yes/No or
`$$Date:"yyyymmdd"`; a bare `$Field` as a logical; NOT, AND, OR and parentheses. Anything else
raises `FormulaError`, which the export turns into a LINEERROR.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from .values import is_yes, parse_any_date

Getter = Callable[[Any], Any]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<date>\$\$Date\s*:\s*"(?P<dval>[^"]*)")
    | (?P<func>\$\$[\w:]+)
    | (?P<field>\$[A-Za-z_][\w.]*)
    | "(?P<str>[^"]*)"
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<op><>|!=|>=|<=|=|>|<)
    | (?P<paren>[()])
    | (?P<word>[A-Za-z_]\w*)
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "<>": operator.ne, "!=": operator.ne, ">": operator.gt, ">=": operator.ge,
    "<": operator.lt, "<=": operator.le,
}


class FormulaError(ValueError):
    """A formula outside the simulated subset."""


@dataclass(slots=True)
class Compiled:
    """A compiled filter and, when it is a pure conjunction, the $Date bounds it implies."""

    test: Callable[[Any], bool]
    start: date | None = None
    end: date | None = None


@dataclass(slots=True)
class _Token:
    kind: str
    text: str


def compile_formula(source: str, getter_for: Callable[[str], Getter]) -> Compiled:
    parser = _Parser(_tokenize(source), getter_for)
    value = parser.disjunction()
    if parser.pos != len(parser.tokens):
        raise FormulaError(f"unexpected '{parser.tokens[parser.pos].text}'")
    compiled = Compiled(lambda obj: _truthy(value(obj)))
    if parser.conjunctive:
        compiled.start, compiled.end = parser.date_bounds()
    return compiled


def _tokenize(source: str) -> list[_Token]:
    tokens, pos = [], 0
    source = source.rstrip()
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if not match or match.end() == pos:
            raise FormulaError(f"cannot read '{source[pos:].strip()}'")
        kind = match.lastgroup if match.lastgroup != "dval" else "date"
        text = match.group("dval") if kind == "date" else match.group(kind)
        tokens.append(_Token(kind or "", text))
        pos = match.end()
    return tokens


@dataclass(slots=True)
class _Parser:
    tokens: list[_Token]
    getter_for: Callable[[str], Getter]
    pos: int = 0
    conjunctive: bool = True
    bounds: list[tuple[str, date]] = field(default_factory=list)

    def peek_word(self, *words: str) -> bool:
        tok = self.tokens[self.pos] if self.pos < len(self.tokens) else None
        return tok is not None and tok.kind == "word" and tok.text.upper() in words

    def take(self) -> _Token:
        if self.pos >= len(self.tokens):
            raise FormulaError("formula ends too early")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def disjunction(self) -> Getter:
        left = self.conjunction()
        while self.peek_word("OR"):
            self.take()
            self.conjunctive = False
            left = _or(left, self.conjunction())
        return left

    def conjunction(self) -> Getter:
        left = self.negation()
        while self.peek_word("AND"):
            self.take()
            left = _and(left, self.negation())
        return left

    def negation(self) -> Getter:
        if self.peek_word("NOT"):
            self.take()
            self.conjunctive = False
            inner = self.negation()
            return lambda obj: not _truthy(inner(obj))
        return self.comparison()

    def comparison(self) -> Getter:
        start = self.pos
        left = self.operand()
        if self.pos < len(self.tokens) and self.tokens[self.pos].kind == "op":
            op = self.take().text
            right_tok = self.tokens[self.pos] if self.pos < len(self.tokens) else None
            if right_tok is not None and right_tok.kind not in ("field", "paren"):
                self.take()  # a constant (the usual `$Field op value`): its conversions are made once
                test = _compare_constant(_OPS[op], left, _constant_value(right_tok))
            else:
                test = _compare(_OPS[op], left, self.operand())
            self._note_bound(self.tokens[start], op, right_tok)
            return test
        return left

    def operand(self) -> Getter:
        tok = self.take()
        if tok.kind == "field":
            return self.getter_for(tok.text[1:].replace(".", "").lower())
        if tok.kind == "paren" and tok.text == "(":
            inner = self.disjunction()
            if self.take().text != ")":
                raise FormulaError("missing ')'")
            return inner
        return _constant(tok)

    def _note_bound(self, left: _Token, op: str, right: _Token | None) -> None:
        if left.kind == "field" and left.text[1:].lower() == "date" and right and right.kind == "date":
            day = parse_any_date(right.text)
            if day is not None:
                self.bounds.append((op, day))

    def date_bounds(self) -> tuple[date | None, date | None]:
        start: date | None = None
        end: date | None = None
        for op, day in self.bounds:
            lo = day + timedelta(days=1) if op == ">" else day if op in (">=", "=") else None
            hi = day - timedelta(days=1) if op == "<" else day if op in ("<=", "=") else None
            start = lo if lo and (start is None or lo > start) else start
            end = hi if hi and (end is None or hi < end) else end
        return start, end


def _constant(tok: _Token) -> Getter:
    value = _constant_value(tok)
    return lambda obj: value


def _constant_value(tok: _Token) -> Any:
    value: Any
    if tok.kind == "date":
        value = parse_any_date(tok.text)
        if value is None:
            raise FormulaError(f'$$Date:"{tok.text}" is not a date')
    elif tok.kind == "str":
        value = tok.text
    elif tok.kind == "num":
        value = Decimal(tok.text)
    elif tok.kind == "word" and tok.text.upper() in ("YES", "NO", "TRUE", "FALSE"):
        value = tok.text.upper() in ("YES", "TRUE")
    else:
        raise FormulaError(f"'{tok.text}' is not supported by the simulator")
    return value


def _or(left: Getter, right: Getter) -> Getter:
    return lambda obj: _truthy(left(obj)) or _truthy(right(obj))


def _and(left: Getter, right: Getter) -> Getter:
    return lambda obj: _truthy(left(obj)) and _truthy(right(obj))


def _compare(op: Callable[[Any, Any], bool], left: Getter, right: Getter) -> Getter:
    def test(obj: Any) -> bool:
        pair = _coerce(left(obj), right(obj))
        if pair is None:
            return op is operator.ne
        return op(*pair)

    return test


def _compare_constant(op: Callable[[Any, Any], bool], left: Getter, constant: Any) -> Getter:
    """`_compare(op, left, lambda obj: constant)`, with the constant's side of `_coerce` done once per
    kind the left side may have (an export tests every voucher it walks)."""
    kind_b = _kind(constant)
    sides = {}
    for kind_a in _RANK:
        convert = _CONVERT[kind_a if _RANK[kind_a] >= _RANK[kind_b] else kind_b]
        sides[kind_a] = (convert, convert(constant))

    def test(obj: Any) -> bool:
        a = left(obj)
        convert, y = sides[_kind(a)]
        x = convert(a)
        if x is None or y is None:
            return op is operator.ne
        return op(x, y)

    return test


def _coerce(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Bring both sides to the richer type (date > logical > number > string).

    Strings compare case-insensitively, as TDL does.
    """
    kind_a, kind_b = _kind(a), _kind(b)
    convert = _CONVERT[kind_a if _RANK[kind_a] >= _RANK[kind_b] else kind_b]
    x, y = convert(a), convert(b)
    return None if x is None or y is None else (x, y)


def _kind(v: Any) -> str:
    return _KINDS.get(type(v)) or ("num" if hasattr(v, "value") else "str")


def _as_date(v: Any) -> date | None:
    if type(v) is date:
        return v
    return parse_any_date(str(v)) if v not in ("", None) else None


def _as_bool(v: Any) -> bool | None:
    if type(v) is bool:
        return v
    text = str(v).strip().lower()
    return is_yes(text) if text in ("yes", "no") else None


def _as_number(v: Any) -> Decimal | int | None:
    if type(v) in (int, Decimal):
        return v  # type: ignore[no-any-return]
    try:
        return Decimal(str(getattr(v, "value", v)).strip())
    except InvalidOperation:
        return None


def _as_text(v: Any) -> str:
    return "" if v is None else str(v).casefold()


_KINDS: dict[type, str] = {date: "date", bool: "bool", int: "num", Decimal: "num", str: "str", type(None): "str"}
_RANK = {"date": 3, "bool": 2, "num": 1, "str": 0}
_CONVERT: dict[str, Callable[[Any], Any]] = {
    "date": _as_date, "bool": _as_bool, "num": _as_number, "str": _as_text,
}


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return is_yes(v) or (v != "" and v.strip().lower() != "no")
    return bool(v)
