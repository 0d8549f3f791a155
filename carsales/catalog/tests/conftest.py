import pytest

from carsales.catalog.models import Brand
from carsales.conftest import BrandFactory


@pytest.fixture
def honda_and_mercedes() -> tuple[Brand, Brand]:
    """Two brands whose slugs a careless new name would collide with."""
    return BrandFactory(name="Honda", slug="honda"), BrandFactory(name="Mercedes-Benz", slug="mercedes-benz")
