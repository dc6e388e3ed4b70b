"""Just enough GraphQL for the Linear emulator: parse one operation (no fragments or
directives), resolve its root fields, and answer exactly the fields each selection asks for.
https://spec.graphql.org/October2021/"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

TOKEN = re.compile(
    r'(?P<skip>[\s,]+|#[^\n]*)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)'
    r"|(?P<name>[_A-Za-z][_0-9A-Za-z]*)|(?P<punct>\.\.\.|[{}()\[\]:!$=@])"
)


class GraphQLError(ValueError):
    """An error answered in the response's `errors`, with Linear's `extensions`."""

    def __init__(
        self, message: str, code: str = "GRAPHQL_VALIDATION_FAILED", kind: str = "graphql error"
    ) -> None:
        super().__init__(message)
        self.code, self.kind = code, kind

    def as_error(self) -> dict[str, Any]:
        extensions = {"type": self.kind, "code": self.code, "userError": True}
        return {"message": str(self), "extensions": extensions}


@dataclasses.dataclass
class Field:
    name: str
    alias: str
    arguments: dict[str, Any]
    selections: list[Field]


@dataclasses.dataclass(frozen=True)
class Variable:
    name: str


@dataclasses.dataclass(frozen=True)
class Enum:
    name: str


def _tokens(source: str) -> Iterator[tuple[str, str]]:
    position = 0
    while position < len(source):
        match = TOKEN.match(source, position)
        if match is None:
            raise GraphQLError(f"Syntax Error: Unexpected character {source[position]!r}.")
        position = match.end()
        if match.lastgroup != "skip":
            yield match.lastgroup or "", match.group()


class Parser:
    def __init__(self, source: str) -> None:
        self.tokens = list(_tokens(source))
        self.at = 0

    def peek(self) -> str:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise GraphQLError("Syntax Error: Unexpected <EOF>.")
        kind, value = self.tokens[self.at]
        if expected is not None and value != expected:
            raise GraphQLError(f'Syntax Error: Expected "{expected}", found "{value}".')
        self.at += 1
        return kind, value

    def operation(self) -> tuple[str, list[Field]]:
        kind = "query"
        if self.peek() in ("query", "mutation", "subscription"):
            kind = self.take()[1]
            if self.peek() not in ("(", "{"):
                self.take()  # the operation's name
            if self.peek() == "(":
                self._variable_definitions()
        selections = self.selection_set()
        if self.at != len(self.tokens):
            raise GraphQLError("Only one operation per document is supported here.")
        return kind, selections

    def _variable_definitions(self) -> None:
        self.take("(")
        while self.peek() != ")":
            self.take("$")
            self.take()
            self.take(":")
            self._type()
            if self.peek() == "=":
                self.take("=")
                self.value()
        self.take(")")

    def _type(self) -> None:
        if self.peek() == "[":
            self.take("[")
            self._type()
            self.take("]")
        else:
            self.take()
        if self.peek() == "!":
            self.take("!")

    def selection_set(self) -> list[Field]:
        self.take("{")
        fields = []
        while self.peek() != "}":
            if self.peek() in ("...", "@"):
                raise GraphQLError("Fragments and directives are not supported by the sandbox.")
            fields.append(self.field())
        self.take("}")
        return fields

    def field(self) -> Field:
        name = alias = self.take()[1]
        if self.peek() == ":":
            self.take(":")
            name = self.take()[1]
        arguments = {}
        if self.peek() == "(":
            self.take("(")
            while self.peek() != ")":
                argument = self.take()[1]
                self.take(":")
                arguments[argument] = self.value()
            self.take(")")
        selections = self.selection_set() if self.peek() == "{" else []
        return Field(name, alias, arguments, selections)

    def value(self) -> Any:
        kind, token = self.take()
        if token == "$":
            return Variable(self.take()[1])
        if kind == "string":
            return json.loads(token)
        if kind == "number":
            return float(token) if any(c in token for c in ".eE") else int(token)
        if token in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token]
        if token == "[":
            items = []
            while self.peek() != "]":
                items.append(self.value())
            self.take("]")
            return items
        if token == "{":
            fields = {}
            while self.peek() != "}":
                name = self.take()[1]
                self.take(":")
                fields[name] = self.value()
            self.take("}")
            return fields
        return Enum(token)


def bind(value: Any, variables: dict[str, Any]) -> Any:
    """Arguments with their variables filled in (enums as their names)."""
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, list):
        return [bind(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: bind(v, variables) for k, v in value.items()}
    return value


def select(value: Any, selections: list[Field], where: str) -> Any:
    """Only the fields asked for, in the order asked; asking for an unknown one is an error."""
    if not selections or value is None:
        return value
    if isinstance(value, list):
        return [select(item, selections, where) for item in value]
    answer = {}
    for field in selections:
        if field.name not in value:
            raise GraphQLError(f'Cannot query field "{field.name}" on type "{where}".')
        answer[field.alias] = select(value[field.name], field.selections, field.name)
    return answer


def complexity(fields: list[Field], variables: dict[str, Any], page_default: int) -> float:
    """A document's cost in Linear's model: a property 0.1 point, an object 1, and a
    connection (a field taking `first`, or holding `nodes`) its children's points times its
    `first`, `page_default` when not given. https://linear.app/developers/rate-limiting"""
    total = 0.0
    for field in fields:
        if not field.selections:
            total += 0.1
            continue
        inner = complexity(field.selections, variables, page_default)
        if "first" in field.arguments or any(f.name == "nodes" for f in field.selections):
            size = bind(field.arguments.get("first"), variables)
            total += (size if isinstance(size, int) else page_default) * inner
        else:
            total += 1 + inner
    return total


Resolver = Callable[[dict[str, Any]], Any]


def execute(
    document: str,
    variables: dict[str, Any],
    roots: dict[str, dict[str, Resolver]],
    check: Callable[[list[Field], dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """{"data": …} or {"errors": […], "data": None}: every root field resolved, then selected.
    `check` may refuse the parsed document (a GraphQLError) before anything is resolved."""
    try:
        kind, fields = Parser(document).operation()
        if check is not None:
            check(fields, variables)
        resolvers = roots.get(kind, {})
        root = "Mutation" if kind == "mutation" else "Query"
        for field in fields:
            if field.name not in resolvers:
                raise GraphQLError(f'Cannot query field "{field.name}" on type "{root}".')
        if kind == "mutation" and len(fields) > 1:
            return _each(fields, variables, resolvers)
        data = {}
        for field in fields:
            resolved = resolvers[field.name](bind(field.arguments, variables))
            data[field.alias] = select(resolved, field.selections, field.name)
    except GraphQLError as exc:
        return {"errors": [exc.as_error()], "data": None}
    return {"data": data}


def _each(
    fields: list[Field], variables: dict[str, Any], resolvers: dict[str, Resolver]
) -> dict[str, Any]:
    """Several mutations, run in order: one failing is null in `data` with an error whose
    `path` is its alias, and the others still apply (a nullable payload, per the spec's
    "Handling Field Errors"; the sandbox does not model a non-null one nulling all `data`)."""
    data: dict[str, Any] = {}
    errors = []
    for field in fields:
        try:
            resolved = resolvers[field.name](bind(field.arguments, variables))
            data[field.alias] = select(resolved, field.selections, field.name)
        except GraphQLError as exc:
            data[field.alias] = None
            errors.append({**exc.as_error(), "path": [field.alias]})
    return {"errors": errors, "data": data} if errors else {"data": data}
