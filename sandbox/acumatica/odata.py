"""The `$filter` subset of the contract-based API, evaluated against stored records.

Grammar: comparisons `Field op literal` (`eq ne gt ge lt le`), `and`, `or`, `not`, parentheses, and
the functions `substringof('text', Field)`, `startswith(Field, 'text')`, `endswith(Field, 'text')`.
Literals: `'text'` (a doubled `''` is a quote), numbers, `true`/`false`, `null`,
`datetimeoffset'2024-06-01T00:00:00Z'`, `datetime'2024-06-01T00:00:00'` (tenant time), `guid'…'`.
Strings compare case-insensitively (the SQL Server collation Acumatica runs on). Only value
fields of the top-level entity can be filtered; anything else answers 500 like an unresolvable BQL
condition (text marked `[sandbox]`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from sandbox.acumatica.errors import server_error
from sandbox.acumatica.schema import VALUE_TYPES
from sandbox.acumatica.values import parse_datetime

Predicate = Callable[[dict[str, Any]], bool]
_TOKEN = re.compile(r"""\s*(?:
    (?P<typed>(?:datetimeoffset|datetime|guid)'[^']*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_./]*)
  | (?P<punct>[(),])
)""", re.VERBOSE)
_COMPARE = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
            "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b}
_FUNCS = {"substringof": lambda field, text: text in field, "startswith": lambda field, text: field.startswith(text),
          "endswith": lambda field, text: field.endswith(text)}


def _invalid(detail: str) -> Exception:
    return server_error(f"[sandbox] The $filter expression is invalid: {detail}")


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise _invalid(f"unexpected text at {text[pos:pos + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, fields: dict[str, str], tz: tzinfo) -> None:
        self.tokens, self.pos, self.fields, self.tz = tokenize(text), 0, fields, tz

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (expected is not None and token[1].lower() != expected):
            raise _invalid(f"expected {expected or 'more'}, got {token[1] if token else 'the end'}")
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.peek() is not None:
            raise _invalid(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return predicate

    def disjunction(self) -> Predicate:
        return self.chain("or", self.conjunction, any)

    def conjunction(self) -> Predicate:
        return self.chain("and", self.unary, all)

    def chain(self, word: str, operand: Callable[[], Predicate], combine: Callable[[Any], bool]) -> Predicate:
        """`operand (word operand)*`, combined left to right with short-circuit `any`/`all`."""
        parts = [operand()]
        while (t := self.peek()) and t[1].lower() == word:
            self.take()
            parts.append(operand())
        return parts[0] if len(parts) == 1 else lambda r: combine(p(r) for p in parts)

    def unary(self) -> Predicate:
        token = self.peek()
        if token and token[1].lower() == "not":
            self.take()
            inner = self.unary()
            return lambda r: not inner(r)
        if token and token[1] == "(":
            self.take()
            inner = self.disjunction()
            self.take(")")
            return inner
        if token and token[0] == "word" and token[1].lower() in _FUNCS:
            return self.function()
        return self.comparison()

    def field(self) -> str:
        kind, name = self.take()
        if kind != "word" or self.fields.get(name) not in VALUE_TYPES:
            raise _invalid(f"{name!r} is not a field of the entity")
        return name

    def function(self) -> Predicate:
        name = self.take()[1].lower()
        self.take("(")
        if name == "substringof":
            text, _, field = self.literal(), self.take(","), self.field()
        else:
            field, _, text = self.field(), self.take(","), self.literal()
        self.take(")")
        test = _FUNCS[name]
        return lambda r: isinstance(r.get(field), str) and test(r[field].casefold(), str(text).casefold())

    def comparison(self) -> Predicate:
        field = self.field()
        op = self.take()[1].lower()
        if op not in _COMPARE:
            raise _invalid(f"unknown operator {op!r}")
        value = self.literal()
        compare = _COMPARE[op]

        def test(record: dict[str, Any]) -> bool:
            left, right = _comparable(record.get(field)), _comparable(value)
            if left is None or right is None:
                return compare(left, right) if op in ("eq", "ne") else False
            try:
                return bool(compare(left, right))
            except TypeError:
                raise _invalid(f"{field} cannot be compared with {value!r}") from None

        return test

    def literal(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return Decimal(text)
        if kind == "typed":
            prefix, raw = text.split("'", 1)
            raw = raw[:-1]
            return raw if prefix == "guid" else parse_datetime(raw, self.tz)
        if kind == "word" and text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text.lower()]
        raise _invalid(f"{text!r} is not a literal")


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, bool) or isinstance(value, datetime):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return value


def compile_filter(text: str | None, fields: dict[str, str], tz: tzinfo) -> Predicate:
    """A predicate over stored records for `$filter` text (None/empty: everything)."""
    if not text or not text.strip():
        return lambda record: True
    return _Parser(text, fields, tz).parse()
