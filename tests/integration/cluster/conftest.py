"""Cluster tests run on the machine's PostgreSQL: a database per run, a schema per test."""

from tests.support.postgres import pg_database, pg_dsn  # noqa: F401 (fixtures)
