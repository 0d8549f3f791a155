"""OpenAPI additions that drf-spectacular cannot infer from the views."""

from typing import Any

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
