"""The page benchmark's server: the test settings (its database), with the deployment's defaults
where they differ, and a bare view beside the site (carsales.benchmarks.urls)."""

from carsales.settings.test import *  # noqa: F403

ROOT_URLCONF = "carsales.benchmarks.urls"
CARSALES_TIMELINE = True  # on by default where the site is deployed
