from tests.support.postgres import postgres_server  # noqa: F401  (one server for the session)
