"""The API's JSON parser, with a bound on nesting, refusing text that is not Unicode."""

import json
from io import BytesIO
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32
NOT_UNICODE = "JSON strings must be Unicode text: a lone surrogate escape (\\ud800-\\udfff) is not."


def json_depth(text: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest, scanned without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


class BoundedJSONParser(JSONParser):
    """JSON whose arrays and objects nest at most MAX_DEPTH deep; deeper is a 400 with the reason."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        body = stream.read() if stream is not None else b""
        if json_depth(body) > MAX_DEPTH:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels is not accepted.")
        data = super().parse(BytesIO(body), media_type, parser_context)
        # "\ud800" alone is valid JSON but no character: it would fail every later encoding (an
        # error message quoting it, the database). A pair escapes one character and passes.
        if b"\\ud" in body.lower():
            try:
                json.dumps(data, ensure_ascii=False).encode()
            except UnicodeEncodeError:
                raise ParseError(NOT_UNICODE) from None
        return data
