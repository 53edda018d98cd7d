"""Prometheus metrics. With several workers (PROMETHEUS_MULTIPROC_DIR set), each writes its own files
and an exposition reads them all."""

import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

REQUESTS = Counter("wc_requests", "HTTP requests answered, by operation and status", ["operation", "status"])
REQUEST_DURATION = Histogram(
    "wc_request_duration_seconds",
    "Time to answer a request, by operation",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONNECTION_TESTS = Counter(
    "wc_connection_tests",
    "Connection tests by outcome: success, failure, stale (not recorded), refused (busy)",
    ["outcome"],
)
JWKS_FETCHES = Counter("wc_jwks_fetches", "Fetches of the bearer tokens' key set (JWKS), by outcome", ["outcome"])
DATABASE_ERRORS = Counter("wc_database_errors", "Requests that failed because the database could not be used")


def registry() -> CollectorRegistry:
    """This process's metrics, or, with several workers, every worker's."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    combined = CollectorRegistry()
    MultiProcessCollector(combined)
    return combined


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST
