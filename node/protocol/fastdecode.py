"""The fast path of decoding: received IFMessages checked by msgspec, with pydantic's verdicts.

Why. Validating each received message is most of what the mesh adds to a broadcast's latency
over bare aiortc. pydantic's ``validate_json`` costs ~8-15 µs warm but ~130-175 µs with cold
caches (a loaded machine between messages). msgspec parses and type-checks in ~3 µs / ~50 µs;
building the pydantic instances and the Python checks add the rest: measured, the whole path
is 10-18 % faster cold and ~2 µs slower warm (``codec.decode`` before → after: 131 → 117 µs,
130 → 112 µs, 175 → 158 µs cold).

Theory of operation. At import, msgspec Struct types are generated from the *core schemas* pydantic
compiled for :data:`ifmesh.node.protocol.messages.ENVELOPES` (the very rules ``validate_json``
runs), not from a second hand-written schema. Each core-schema node maps to a msgspec type plus,
where msgspec cannot express the rule, a Python step that calls the *same function* pydantic would
call (``_timestamp``, ``_check_capability``, ``_check_milestone``, the sender check, pydantic's own
``max_length_validator``). A node the generator does not know — a new constraint, config flag,
alias, model validator — raises :class:`UnmappedSchema` at import: nothing is ever silently
loosened.

The contract: :func:`decode` returns the message pydantic would return (``==``, same
``model_fields_set``, same encoding), or ``None`` when msgspec or a Python step refuses; the
caller then runs pydantic, which raises the typed error or accepts what msgspec was too strict
for (NaN in metadata, say). msgspec may be stricter than pydantic, never looser.

This module maps the schemas. What runs per message — each model's Python steps, and building
the instance exactly as pydantic's validator builds it — is
:class:`~ifmesh.node.protocol.modelplan.ModelPlan`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import UNSET
from pydantic import BaseModel

from ifmesh.node.protocol.fields import NUMBER_TAG, OBJECT_TAG, TEXT_TAG, json_kind
from ifmesh.node.protocol.messages import (
    ENVELOPES,
    GENERIC_TYPE,
    MESSAGE_ADAPTER,
    Envelope,
    message_type_of,
)
from ifmesh.node.protocol.modelplan import FieldValidator, Finish, ModelPlan, matching

__all__ = ["UnmappedSchema", "decode", "model_plan"]

Schema = Mapping[str, Any]


class UnmappedSchema(TypeError):
    """A pydantic rule the fast path cannot reproduce exactly; raised at import."""


# Keys that only affect JSON Schema, serialization or error wording, never what is accepted.
_INERT = frozenset({"type", "metadata", "ref", "serialization", "json_schema_input_schema"})
# Model config entries whose effect the mapping reproduces (strictness: msgspec is always
# strict, which is at least as strict; allow_inf_nan: msgspec never yields inf or NaN).
_KNOWN_CONFIG = frozenset({"title", "strict", "extra_fields_behavior", "allow_inf_nan"})
# A union tagged by fields.json_kind: each tag's values after msgspec.to_builtins.
_KIND_TYPES: dict[str, tuple[type, ...]] = {
    TEXT_TAG: (str,),
    NUMBER_TAG: (int, float),
    OBJECT_TAG: (dict,),
}


_REQUIRED: Any = object()  # a required field's slot in a template; always overwritten


def _keys(schema: Schema, allowed: set[str]) -> None:
    unknown = set(schema) - _INERT - allowed
    if unknown:
        raise UnmappedSchema(f"{schema['type']} schema with {sorted(unknown)}: not mapped")


def _pattern(pattern: str) -> str:
    """A pydantic (Rust regex) pattern as a Python ``re.search`` pattern with the same matches.

    Rust's ``$`` matches only at the very end; Python's also before a final newline, so the one
    trailing ``$`` becomes ``\\Z``. Escapes of letters (``\\d``, ``\\s``: Unicode sets that
    differ), inline flags and Rust's class set operations are refused rather than translated.
    """
    refused = re.search(r"\\[A-Za-z0-9]|\(\?|\[\[|&&|--|~~", pattern)
    if refused or pattern.count("$") != (1 if pattern.endswith("$") else 0):
        raise UnmappedSchema(f"pattern {pattern!r} is not in the subset mapped to Python re")
    if pattern.endswith("\\$"):
        raise UnmappedSchema(f"pattern {pattern!r} ends in an escaped '$'")
    return pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern


def _meta(schema: Schema, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: schema[name] for name in names if name in schema}


def _constrained(base: Any, constraints: dict[str, Any]) -> Any:
    return Annotated[base, msgspec.Meta(**constraints)] if constraints else base


class _Generator:
    """Walks pydantic core schemas; one instance per generation (it holds the definitions)."""

    def __init__(self, definitions: list[Schema]) -> None:
        self.definitions = {d["ref"]: d for d in definitions}
        self.plans: dict[type[msgspec.Struct], ModelPlan] = {}

    def resolve(self, schema: Schema) -> Schema:
        if schema["type"] != "definition-ref":
            return schema
        _keys(schema, {"schema_ref"})
        return self.definitions[schema["schema_ref"]]

    def type_of(self, schema: Schema) -> tuple[Any, Finish | None]:
        """The msgspec type for ``schema`` and the Python step after it (None: value as is)."""
        kind = schema["type"]
        if kind == "definition-ref":
            return self.type_of(self.resolve(schema))
        if kind == "json-or-python":  # validate_json only ever takes the JSON branch
            _keys(schema, {"json_schema", "python_schema"})
            return self.type_of(schema["json_schema"])
        if kind == "any":
            _keys(schema, set())
            return Any, None
        if kind == "str":
            return self.string(schema)
        if kind in ("int", "float"):
            bounds = ("ge", "le", "gt", "lt", "multiple_of")
            _keys(schema, {*bounds, "strict", "allow_inf_nan"})
            return _constrained(int if kind == "int" else float, _meta(schema, bounds)), None
        if kind == "bool":
            _keys(schema, {"strict"})
            return bool, None
        if kind == "none":
            _keys(schema, set())
            return None, None
        if kind == "literal":
            _keys(schema, {"expected"})
            expected = tuple(schema["expected"])
            if not expected or not all(type(value) is str for value in expected):
                raise UnmappedSchema(f"literal {expected!r}: only string literals are mapped")
            return Literal[expected], None
        if kind == "nullable":
            _keys(schema, {"schema", "strict"})
            inner, finish = self.type_of(schema["schema"])
            if finish is None:
                return Union[inner, None], None  # noqa: UP007  # inner is a runtime value
            return Union[inner, None], _unless_none(finish)  # noqa: UP007
        if kind == "list":
            _keys(schema, {"items_schema", "min_length", "max_length", "strict", "fail_fast"})
            item, finish = self.type_of(schema["items_schema"])
            sized = _constrained(list[item], _meta(schema, ("min_length", "max_length")))  # type: ignore[valid-type]
            return sized, None if finish is None else _each(finish)
        if kind == "dict":
            _keys(schema, {"keys_schema", "values_schema", "min_length", "max_length", "strict"})
            key, key_finish = self.type_of(schema["keys_schema"])
            value, value_finish = self.type_of(schema["values_schema"])
            if key is not str or key_finish is not None or value_finish is not None:
                raise UnmappedSchema("dict: only str keys and values needing no Python step")
            return _constrained(dict[str, value], _meta(schema, ("min_length", "max_length"))), None  # type: ignore[valid-type]
        if kind == "function-plain":
            _keys(schema, {"function"})
            return Any, _no_info(schema)  # the function receives the parsed JSON value
        if kind == "function-after":
            _keys(schema, {"function", "schema"})
            if schema["schema"]["type"] == "str":  # one remembered check: pattern, then this
                return self.string(schema["schema"], after=_no_info(schema))
            inner, finish = self.type_of(schema["schema"])
            return inner, _then(finish, _no_info(schema))
        if kind == "tagged-union":
            return self.kind_union(schema)
        if kind == "model":
            plan = self.model(schema)
            return plan.struct, plan.build
        raise UnmappedSchema(f"core schema type {kind!r} is not mapped")

    @staticmethod
    def string(schema: Schema, after: Finish | None = None) -> tuple[Any, Finish | None]:
        _keys(schema, {"pattern", "min_length", "max_length", "strict"})
        lengths = _constrained(str, _meta(schema, ("min_length", "max_length")))
        if "pattern" not in schema:
            return lengths, after
        return lengths, matching(re.compile(_pattern(schema["pattern"])), after)

    def kind_union(self, schema: Schema) -> tuple[Any, Finish | None]:
        """A union chosen by the JSON type of the value (``fields.json_kind``): msgspec picks the
        branch the same way, and each branch's step runs on the values of its type."""
        errors = {"custom_error_type", "custom_error_message", "custom_error_context"}
        _keys(schema, {"choices", "discriminator", "strict", "from_attributes", *errors})
        if schema["discriminator"] is not json_kind or not set(schema["choices"]) <= {*_KIND_TYPES}:
            raise UnmappedSchema("tagged union: only fields.json_kind unions are mapped")
        types, steps = [], {}
        for tag, choice in schema["choices"].items():
            branch, finish = self.type_of(choice)
            types.append(branch)
            if finish is not None:
                steps.update(dict.fromkeys(_KIND_TYPES[tag], finish))
        union: Any = Union[tuple(types)]  # noqa: UP007  # built at run time
        if not steps:
            return union, None
        return union, lambda value: steps[type(value)](value) if type(value) in steps else value

    def model(self, schema: Schema, tag: str | None = None) -> ModelPlan:
        _keys(schema, {"cls", "schema", "config", "custom_init", "root_model"})
        cls: type[BaseModel] = schema["cls"]
        config = schema.get("config", {})
        if schema.get("custom_init") or schema.get("root_model") or cls.__pydantic_post_init__:
            raise UnmappedSchema(f"{cls.__name__}: custom __init__, root or post-init model")
        if set(config) - _KNOWN_CONFIG or cls.__private_attributes__:
            raise UnmappedSchema(f"{cls.__name__}: config {sorted(config)} or private attributes")
        fields_schema = schema["schema"]
        if fields_schema["type"] != "model-fields":
            raise UnmappedSchema(f"{cls.__name__}: a model validator wraps its fields")
        _keys(fields_schema, {"fields", "model_name", "computed_fields", "strict", "extras_schema"})
        extra = config.get("extra_fields_behavior", "ignore")
        if extra == "allow":
            return self.free_model(cls, fields_schema)
        if extra not in ("forbid", "ignore") or "extras_schema" in fields_schema:
            raise UnmappedSchema(f"{cls.__name__}: extra={extra!r}")

        struct_fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        template: dict[str, Any] = {}
        factories: list[tuple[str, Callable[[], Any]]] = []
        finishes: list[tuple[str, Finish]] = []
        optional_finishes: list[tuple[str, Finish]] = []
        validators: list[FieldValidator] = []
        for name, field in fields_schema["fields"].items():
            _keys(field, {"schema", "serialization_exclude", "serialization_alias", "frozen"})
            value_schema: Schema = field["schema"]
            if tag is not None and name == "type":  # the union's tag: msgspec checks it
                if value_schema["type"] == "default" and value_schema.get("default") == tag:
                    value_schema = value_schema["schema"]  # the generic type's, when unnamed
                _keys(value_schema, {"expected"})
                if value_schema["type"] != "literal" or value_schema["expected"] != [tag]:
                    raise UnmappedSchema(f"{cls.__name__}.type is not Literal[{tag!r}]")
                template[name] = tag
                continue
            if value_schema["type"] == "default":
                template[name] = self.default(cls, name, value_schema, factories)
                value_schema = value_schema["schema"]
            else:
                template[name] = _REQUIRED  # msgspec refuses a message without it
            kind, finish, validator = self.field_type(cls, name, value_schema, config)
            required = template[name] is _REQUIRED
            struct_fields.append((name, kind) if required else (name, kind, UNSET))
            if finish is not None:
                (optional_finishes if not required else finishes).append((name, finish))
            if validator is not None:
                validators.append(validator)
        # kw_only: a required field may follow one with a default, as in the model.
        options: dict[str, Any] = {"forbid_unknown_fields": extra == "forbid", "kw_only": True}
        if tag is not None:
            options.update(tag_field="type", tag=tag)
        struct = msgspec.defstruct(cls.__name__ + "Wire", struct_fields, **options)
        plan = ModelPlan(
            cls=cls,
            struct=struct,
            template=template,
            factories=tuple(factories),
            finishes=tuple(finishes),
            optional_finishes=tuple(optional_finishes),
            validators=tuple(validators),
        )
        self.plans[struct] = plan
        return plan

    def free_model(self, cls: type[BaseModel], fields_schema: Schema) -> ModelPlan:
        """A model of extras only (``GenericPayload``): a JSON object whose values need no
        Python step, kept whole as the model's extras."""
        extras = fields_schema.get("extras_schema", {"type": "any"})
        if fields_schema["fields"] or self.type_of(extras) != (Any, None):
            raise UnmappedSchema(f"{cls.__name__}: extra='allow' beside fields or typed extras")
        return ModelPlan(cls, dict[str, Any], {}, (), (), (), (), free=True)

    @staticmethod
    def default(
        cls: type[BaseModel],
        name: str,
        schema: Schema,
        factories: list[tuple[str, Callable[[], Any]]],
    ) -> Any:
        """A field's default; a factory's slot is filled per message (``factories``)."""
        _keys(schema, {"schema", "default", "default_factory", "default_factory_takes_data"})
        if schema.get("default_factory_takes_data"):
            raise UnmappedSchema(f"{cls.__name__}.{name}: its default factory takes data")
        if "default_factory" in schema:
            factories.append((name, schema["default_factory"]))
            return UNSET
        try:
            hash(schema["default"])
        except TypeError:  # pydantic deep-copies an unhashable default for every instance
            raise UnmappedSchema(f"{cls.__name__}.{name}: unhashable default") from None
        return schema["default"]

    def field_type(
        self, cls: type[BaseModel], name: str, schema: Schema, config: Any
    ) -> tuple[Any, Finish | None, FieldValidator | None]:
        """A field's type; a with-info validator (it reads earlier fields) is allowed only here."""
        if schema["type"] != "function-after" or schema["function"]["type"] != "with-info":
            return (*self.type_of(schema), None)
        _keys(schema, {"function", "schema"})
        _keys(schema["function"], {"function", "field_name"})
        inner, finish = self.type_of(schema["schema"])
        names = tuple(cls.model_fields)
        before = names[: names.index(name)]
        return inner, finish, FieldValidator(schema["function"]["function"], name, before, config)


def _no_info(schema: Schema) -> Finish:
    function = schema["function"]
    _keys(function, {"function"})
    if function["type"] != "no-info":
        raise UnmappedSchema("a with-info validator below a field's top level is not mapped")
    step: Finish = function["function"]
    return step


def _then(first: Finish | None, second: Finish) -> Finish:
    if first is None:
        return second
    return lambda value: second(first(value))


def _unless_none(finish: Finish) -> Finish:
    return lambda value: None if value is None else finish(value)


def _each(finish: Finish) -> Finish:
    return lambda values: [finish(value) for value in values]


def _unwrap(schema: Schema) -> tuple[Schema, list[Schema]]:
    if schema["type"] == "definitions":
        return schema["schema"], schema["definitions"]
    return schema, []


def model_plan(model: type[BaseModel]) -> ModelPlan:
    """The plan of one model on its own; raises UnmappedSchema for a rule it cannot reproduce."""
    schema, definitions = _unwrap(model.__pydantic_core_schema__)
    return _Generator(definitions).model(schema)


_Decoder = msgspec.json.Decoder[Any]


def _generate() -> tuple[_Decoder, _Decoder, dict[type[msgspec.Struct], ModelPlan]]:
    """The decoder for the union of every envelope, the decoder of a message that names no
    type (the generic envelope, untagged), and each envelope Struct's plan."""
    union, definitions = _unwrap(MESSAGE_ADAPTER.core_schema)
    _keys(union, {"choices", "discriminator", "from_attributes", "strict", "custom_error_type"})
    # message_type_of reads "type", defaulting to the generic type: msgspec's tag field, with
    # the untagged generic envelope for a message without one.
    if union["type"] != "tagged-union" or union["discriminator"] is not message_type_of:
        raise UnmappedSchema("MESSAGE_ADAPTER is not a union tagged by messages.message_type_of")
    generator = _Generator(definitions)
    envelopes: list[type[msgspec.Struct]] = []
    choices = {tag: generator.resolve(choice) for tag, choice in union["choices"].items()}
    for tag, choice in choices.items():
        if choice.get("cls") is not ENVELOPES.get(tag):
            raise UnmappedSchema(f"union choice {tag!r} is not ENVELOPES[{tag!r}]")
        envelopes.append(generator.model(choice, tag=tag).struct)
    if len(envelopes) != len(ENVELOPES):
        raise UnmappedSchema("the union does not cover every envelope")
    decoder = msgspec.json.Decoder(Union[tuple(envelopes)])  # noqa: UP007  # built at run time
    untyped = generator.model(choices[GENERIC_TYPE]).struct  # "type" optional
    return decoder, msgspec.json.Decoder(untyped), generator.plans


_DECODER, _UNTYPED, _PLANS = _generate()


def decode(raw: bytes) -> Envelope | None:
    """The message pydantic would accept from ``raw``, or None: then ask pydantic (it decides)."""
    try:
        try:
            wire = _DECODER.decode(raw)
        except msgspec.ValidationError:  # no tag (the origin's generic message), or a refusal
            wire = _UNTYPED.decode(raw)
        # Any refusal ends the fast path: a refusal of msgspec's, a validator's
        # PydanticCustomError, or whatever a validator raises for pydantic to report its way.
        message = _PLANS[type(wire)].build(msgspec.to_builtins(wire))
    except Exception:
        return None
    return message  # type: ignore[return-value]  # the plans of ENVELOPES build Envelopes
