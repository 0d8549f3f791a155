"""REST endpoint of the accounts: a buyer's API token for their username and password."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from carsales.core.parsers import BoundedJSONParser
from carsales.core.throttling import TokenRequestThrottle


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`.")


class TokenObtainView(ObtainAuthToken):
    """Your API token (made on first use) for your username and password.

    The same token is returned until you replace it on the /accounts/token/ page.
    """

    # No credentials needed, and none checked: a stale token must not stand in the way.
    authentication_classes = []
    throttle_classes = [TokenRequestThrottle]  # DRF's view has none
    parser_classes = [BoundedJSONParser, FormParser, MultiPartParser]  # DRF's view sets its own

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: TokenSerializer, 400: OpenApiResponse(description="Wrong username or password.")},
    )
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().post(request, *args, **kwargs)
