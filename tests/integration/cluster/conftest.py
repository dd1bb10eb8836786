"""Cluster tests run on the machine's PostgreSQL (a database per run, a schema per test), or
on a PostgreSQL of their own when they stop it (``private_postgres``)."""

from tests.support.pg_instance import private_postgres  # noqa: F401 (fixture)
from tests.support.postgres import pg_database, pg_dsn  # noqa: F401 (fixtures)
