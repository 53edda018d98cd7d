"""Request-body parsing and validation whose 400s name the field at fault and never echo a value.

connexion's stock JSON validator reports the first error jsonschema raises: for a `oneOf` body that is
"… is not valid under any of the given schemas", which names nothing, and its messages quote the value,
which may be sensitive. It also 500s on a body that is not UTF-8 and takes the last of duplicate keys.
"""

import json

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator
from jsonschema.exceptions import ValidationError, best_match, relevance

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


def innermost(error: ValidationError) -> ValidationError:
    # Into oneOf/anyOf, to the error of the alternative the body came closest to.
    while error.context:
        error = max(error.context, key=relevance)
    return error


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
        error = best_match(self._validator.iter_errors(body))
        if error is not None:
            raise BadRequestProblem(detail=describe(innermost(error)))


validator_map = {
    **VALIDATOR_MAP,
    "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": FieldNamingJSONBodyValidator}),
}
