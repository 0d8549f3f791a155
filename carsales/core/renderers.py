"""The browsable API's pages under the site's content security policy."""

from typing import Any

from csp.constants import SELF, UNSAFE_INLINE
from rest_framework.renderers import BrowsableAPIRenderer


class StyledBrowsableAPIRenderer(BrowsableAPIRenderer):
    """DRF's pages, whose templates style elements inline (`style="float: right"`): on these pages
    alone inline styles are allowed, so they lay out as DRF draws them; scripts stay our files."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> Any:
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_replace = {"style-src": [SELF, UNSAFE_INLINE]}
        return super().render(data, accepted_media_type, renderer_context)
