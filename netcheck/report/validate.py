"""A report file checked against schema.json before it is trusted (pure).

A small interpreter of the JSON Schema keywords schema.json uses (type, const, enum, required, properties,
additionalProperties, items, minimum, maximum, minLength, pattern, $ref, allOf, if/then), so reading a report
needs no third-party validator at start-up. Stricter than the standard in two ways a report never needs:
numbers must be finite and values may nest at most MAX_DEPTH deep (a deeply nested file would otherwise
exhaust the recursion of every walker after it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import cache
from typing import Any

MAX_DEPTH = 32
"""A netcheck report nests 5 deep (evidence included); 32 leaves room and stops a hostile file early."""


class SchemaError(ValueError):
    """The document breaks the schema; the message names where (checks[3].port) and why."""


_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


@cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _fail(path: str, problem: str) -> SchemaError:
    return SchemaError(f"{path}: {problem}" if path else problem)


def check_depth(document: Any) -> None:
    """SchemaError when lists and objects nest deeper than MAX_DEPTH (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            raise SchemaError(f"values nest more than {MAX_DEPTH} deep")
        stack.extend((child, depth + 1) for child in children)


def validate(document: Any, schema: dict[str, Any]) -> None:
    """SchemaError at the first place `document` breaks `schema` (depth-checked first).

    A compiled yes/no check runs first (a 100,000-check report in about a second); only a document that
    fails it is walked again, slowly, to say where."""
    check_depth(document)
    if not _compiled(id(schema), schema)(document):
        _validate(document, schema, schema, "")
        raise SchemaError("does not match the schema")  # not reached: the walk names the first problem


Test = Callable[[Any], bool]
_COMPILED: dict[int, Test] = {}


def _compiled(key: int, schema: dict[str, Any]) -> Test:
    if key not in _COMPILED:
        _COMPILED[key] = _compile(schema, schema)
    return _COMPILED[key]


def _compile(schema: dict[str, Any], root: dict[str, Any]) -> Test:
    tests: list[Test] = []
    if "$ref" in schema:
        tests.append(_compile(_resolve(root, schema["$ref"]), root))
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        kinds = [_TYPES[name] for name in names]
        tests.append(kinds[0] if len(kinds) == 1 else lambda v: any(kind(v) for kind in kinds))
    if "const" in schema:
        const = schema["const"]
        tests.append(lambda v: _same(v, const))
    if "enum" in schema:
        options = [(_json_type(option), option) for option in schema["enum"]]
        tests.append(lambda v: (_json_type(v), v) in options)
    minimum, maximum, min_length = schema.get("minimum"), schema.get("maximum"), schema.get("minLength", 0)
    if min_length or "pattern" in schema:
        pattern = _pattern(schema["pattern"]) if "pattern" in schema else None
        tests.append(lambda v: not isinstance(v, str) or (len(v) >= min_length and (pattern is None or bool(pattern.search(v)))))
    if minimum is not None or maximum is not None:
        low = -math.inf if minimum is None else minimum
        high = math.inf if maximum is None else maximum
        tests.append(lambda v: not isinstance(v, int | float) or isinstance(v, bool) or low <= v <= high)
    if "required" in schema or "properties" in schema or "additionalProperties" in schema:
        tests.append(_compile_object(schema, root))
    if "items" in schema:
        item = _compile(schema["items"], root)
        tests.append(lambda v: not isinstance(v, list) or all(item(x) for x in v))
    tests.extend(_compile(part, root) for part in schema.get("allOf", ()))
    if "if" in schema and "then" in schema:
        condition, then = _compile(schema["if"], root), _compile(schema["then"], root)
        tests.append(lambda v: not condition(v) or then(v))
    if len(tests) == 1:
        return tests[0]
    return lambda v: all(test(v) for test in tests)


def _compile_object(schema: dict[str, Any], root: dict[str, Any]) -> Test:
    required = frozenset(schema.get("required", ()))
    properties = {key: _compile(sub, root) for key, sub in schema.get("properties", {}).items()}
    closed = schema.get("additionalProperties") is False
    known = frozenset(properties)

    def test(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        keys = value.keys()
        if not required <= keys or (closed and not keys <= known):
            return False
        return all(check(value[key]) for key, check in properties.items() if key in value)

    return test


def _validate(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> None:
    if "$ref" in schema:
        _validate(value, _resolve(root, schema["$ref"]), root, path)
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[name](value) for name in names):
            raise _fail(path, f"{value!r:.60} is not {' or '.join(names)}")
    if "const" in schema and not _same(value, schema["const"]):
        raise _fail(path, f"{value!r:.60} is not {schema['const']!r}")
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        raise _fail(path, f"{value!r:.60} is not one of {', '.join(map(repr, schema['enum']))}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            raise _fail(path, "must not be empty")
        if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
            raise _fail(path, f"{value!r:.60} does not match {schema['pattern']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise _fail(path, f"{value!r} is below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise _fail(path, f"{value!r} is above {schema['maximum']}")
    if isinstance(value, dict):
        _validate_object(value, schema, root, path)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _validate(item, schema["items"], root, f"{path}[{index}]")
    for part in schema.get("allOf", ()):
        _validate(value, part, root, path)
    if "if" in schema and _matches(value, schema["if"], root) and "then" in schema:
        _validate(value, schema["then"], root, path)


def _validate_object(value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], path: str) -> None:
    for key in schema.get("required", ()):
        if key not in value:
            raise _fail(path, f"{key!r} is missing")
    properties = schema.get("properties", {})
    if schema.get("additionalProperties") is False:
        extra = sorted(str(key) for key in value if key not in properties)
        if extra:
            raise _fail(path, f"unexpected key {extra[0]!r:.60}")
    for key, sub in properties.items():
        if key in value:
            _validate(value[key], sub, root, f"{path}.{key}" if path else key)


def _matches(value: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    try:
        _validate(value, schema, root, "")
    except SchemaError:
        return False
    return True


def _same(value: Any, expected: Any) -> bool:
    """JSON equality: 1 is not true, and the types must agree."""
    return _json_type(value) is _json_type(expected) and value == expected


def _json_type(value: Any) -> type:
    """The JSON type of a Python value: a str subclass (netcheck's StrEnums) is a string, as every encoder
    writes it; bool stays apart from int."""
    return str if isinstance(value, str) else type(value)


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $ref is supported, not {ref!r}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node  # type: ignore[no-any-return]
