"""Request-body parsing and validation whose 400s name the field at fault and never echo a value.

connexion's stock JSON validator reports the first error jsonschema raises: for a `oneOf` body that is
"… is not valid under any of the given schemas", which names nothing, and its messages quote the value,
which may be sensitive. It also 500s on a body that is not UTF-8 and takes the last of duplicate keys.
"""

import json

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator
from jsonschema.exceptions import ValidationError, relevance

# Their messages name keys, never values.
SAFE_MESSAGES = {"required", "additionalProperties"}
REASONS = {
    "pattern": lambda error: f"does not match {error.validator_value}",
    "maxLength": lambda error: f"is longer than {error.validator_value} characters",
    "minLength": lambda error: f"is shorter than {error.validator_value} characters",
    "type": lambda error: f"is not of type {error.validator_value!r}",
    "enum": lambda error: f"is not one of {error.validator_value}",
    "format": lambda error: f"is not a valid {error.validator_value}",
    "minProperties": lambda error: f"must have at least {error.validator_value} field(s)",
}


def describe(error: ValidationError) -> str:
    """`'field' reason`, e.g. "'warehouse' does not match ^[A-Za-z_]…$"."""
    path = ".".join(str(part) for part in error.absolute_path)
    if error.validator in SAFE_MESSAGES:
        return f"{error.message} - '{path}'" if path else error.message
    reason = REASONS.get(error.validator, lambda error: f"fails {error.validator}")
    return f"'{path or 'body'}' {reason(error)}"


def innermost(error: ValidationError) -> ValidationError | str:
    """Into oneOf/anyOf, to the error of the alternative for the body's `type`, else the one it came closest to."""
    while error.context:
        chosen = _alternative_for_type(error)
        if isinstance(chosen, str):
            return chosen
        errors = [e for e in error.context if chosen is None or e.relative_schema_path[0] == chosen]
        error = max(errors, key=relevance)
    return error


def _alternative_for_type(error: ValidationError) -> int | str | None:
    """The index of the alternative for the body's `type` (or else of the one that has no `type`, whose error then
    names it); a reason when there is neither; None when the alternatives are not told apart by `type`."""
    alternatives, body = error.validator_value, error.instance
    if error.validator not in ("oneOf", "anyOf") or not isinstance(body, dict):
        return None
    types = [alternative.get("properties", {}).get("type", {}).get("enum") for alternative in alternatives]
    if not any(types):
        return None
    for index, names in enumerate(types):
        if names and body.get("type") in names:
            return index
    untyped = [index for index, names in enumerate(types) if not names]
    if untyped:
        return untyped[0]
    if "type" not in body:
        return "'type' is a required property"
    return f"'type' is not one of {[name for names in types for name in names]}"


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise BadRequestProblem(detail=f"The JSON object has duplicate keys: {', '.join(map(repr, duplicates))}")
    return dict(pairs)


class FieldNamingJSONBodyValidator(JSONRequestBodyValidator):
    async def _parse(self, stream, scope):
        raw = b"".join([message async for message in stream])
        try:
            text = raw.decode(self._encoding)
        except UnicodeDecodeError:
            raise BadRequestProblem(detail=f"The request body is not valid {self._encoding}.") from None
        if not text:
            return None
        try:
            # Duplicate keys are refused: json.loads would keep the last silently, and a proxy the first.
            return json.loads(text, object_pairs_hook=_reject_duplicate_keys)
        except json.JSONDecodeError as error:
            raise BadRequestProblem(detail=f"The request body is not valid JSON: {error}") from None

    def _validate(self, body):
        if not self._nullable and body is None:
            raise BadRequestProblem("Request body must not be empty")
        # The most relevant top-level error; innermost() goes into a oneOf by the body's type (best_match would not).
        error = max(self._validator.iter_errors(body), key=relevance, default=None)
        if error is not None:
            inner = innermost(error)
            raise BadRequestProblem(detail=inner if isinstance(inner, str) else describe(inner))


validator_map = {
    **VALIDATOR_MAP,
    "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": FieldNamingJSONBodyValidator}),
}
