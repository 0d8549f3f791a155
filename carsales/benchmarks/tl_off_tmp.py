from carsales.benchmarks.settings import *  # noqa

CARSALES_TIMELINE = False
