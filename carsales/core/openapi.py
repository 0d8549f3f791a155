"""The API's error answers, added to every operation of the OpenAPI schema that can give them.

DRF answers errors the same way everywhere (authentication, permissions, validation, lookups),
so they are documented here once rather than on every view; a view documents only its own
(a 409 refusal, a 429). Schemathesis checks that no status code goes undocumented. And the
schema's own view.
"""

from typing import Any

from drf_spectacular.views import SpectacularAPIView

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# Field name → messages, or "detail" / "non_field_errors" for the whole request.
VALIDATION_ERROR = {
    "type": "object",
    "additionalProperties": {"oneOf": [{"type": "array", "items": {}}, {"type": "string"}, {"type": "object"}]},
}

DESCRIPTIONS = {
    "400": "The request is invalid: each field named with what is wrong with it.",
    "401": "No valid credentials: log in or send `Authorization: Token <key>` (POST /api/auth/token/).",
    "403": "Logged in, but not allowed (staff only), or a session request without its CSRF token.",
    "404": "No such object, or not one of yours; or a page past the last.",
    "415": "The body is in a media type this operation does not read: send application/json.",
    "414": "The URL is longer than the server reads (gunicorn refuses it, before the application, in HTML).",
}


def _error(code: str, schema_name: str) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}},
    }


def _codes(operation: dict[str, Any]) -> list[str]:
    parameters = operation.get("parameters", [])
    query = {p["name"] for p in parameters if p["in"] == "query"}
    # A wrong token is refused on any endpoint that reads credentials, even one open to all.
    codes = ["401", "403"] if operation.get("security") else []
    if "requestBody" in operation or query - {"page"}:
        codes.append("400")
    if "requestBody" in operation:
        codes.append("415")
    if query:
        codes.append("414")
    if any(p["in"] == "path" for p in parameters) or "page" in query:
        codes.append("404")
    return codes


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the error answers of every operation, unless it documents its own."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("ValidationError", VALIDATION_ERROR)
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for code in _codes(operation):
                schema_name = "ValidationError" if code == "400" else "Error"
                answer = {"description": DESCRIPTIONS[code]} if code == "414" else _error(code, schema_name)
                operation["responses"].setdefault(code, answer)
    return result


class OneVersionSchemaView(SpectacularAPIView):
    """drf-spectacular's schema view for an API of one version: a `?version=` asked for is not
    one, and went into the answer's Content-Disposition as given (a newline in it: a 500)."""

    def _get_version_parameter(self, request: Any) -> None:
        return None
