"""The page benchmark's server: the test settings (its database), with the deployment's defaults
where they differ, and a bare view beside the site (carsales.benchmarks.urls)."""

import os

from carsales.settings.test import *  # noqa: F403

if os.environ.get("BENCH_PAGE_CACHE") == "off":  # every page rendered: the floor's other side
    CACHES["pages"] = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}  # noqa: F405

ROOT_URLCONF = "carsales.benchmarks.urls"
CARSALES_TIMELINE = True  # on by default where the site is deployed
CARSALES_CATALOGUE_VERSION_PUSHED = True  # as deployed: its writes commit
