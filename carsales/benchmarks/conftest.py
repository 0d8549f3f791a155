from carsales.events.tests.executors import executor, rabbitmq_url  # noqa: F401  (fixtures)
