"""OpenAPI additions that drf-spectacular cannot infer from the views."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework import permissions

WRITE_METHODS = {"post", "put", "patch", "delete"}


def document_throttling(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Add the 429 answer of carsales.core.throttling to every write operation (a postprocessing hook)."""
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method in WRITE_METHODS:
                operation.setdefault("responses", {})["429"] = {
                    "description": "Too many writes in a short time; the Retry-After header says when to try again."
                }
    return result


class Schema(AutoSchema):
    """drf-spectacular's AutoSchema, knowing carsales' permissions: a read that anyone may make
    (a kind of IsAuthenticatedOrReadOnly) is documented as needing no credentials."""

    def get_auth(self) -> list[dict[str, Any]]:
        auths: list[dict[str, Any]] = super().get_auth()
        open_reads = (permissions.IsAuthenticatedOrReadOnly, permissions.DjangoModelPermissionsOrAnonReadOnly)
        readable = any(isinstance(p, open_reads) for p in self.view.get_permissions())
        if readable and self.method in permissions.SAFE_METHODS and {} not in auths:
            auths.append({})
        return auths


def non_negative_decimals(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """No amount carsales takes or gives is negative (prices, totals, revenue): drop the minus
    sign drf-spectacular allows in every decimal's pattern (a postprocessing hook)."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("format") == "decimal" and str(node.get("pattern", "")).startswith("^-?"):
                node["pattern"] = "^" + node["pattern"][3:]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result
