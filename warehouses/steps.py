"""A connection test as named steps: each passes, fails with a code and a hint, or is skipped after a failure."""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Session = TypeVar("Session")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepResult:
    """One step as the API shows it (the spec's ConnectionTestStep)."""

    name: str
    status: str  # passed, failed or skipped
    code: str | None = None
    # The warehouse's own words for the failure, raw.
    message: str | None = None
    # For a person: what is wrong and the fix.
    hint: str | None = None
    retryable: bool = False
    duration_ms: int | None = None


class StepFailed(Exception):
    """Raised by a step: why it failed, in the spec's codes, and what to do about it."""

    def __init__(self, code: str, message: str, hint: str, retryable: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.retryable = retryable


@dataclass(frozen=True)
class Step(Generic[Session]):
    name: str
    run: Callable[[Session], None]


def run_steps(steps: Sequence[Step[Session]], session: Session) -> list[StepResult]:
    """Each step in order until one fails; the rest are skipped, not run."""
    results: list[StepResult] = []
    for step in steps:
        if results and results[-1].status != "passed":
            results.append(StepResult(step.name, "skipped"))
            continue
        started = time.monotonic()
        try:
            step.run(session)
        except Exception as error:  # noqa: BLE001 (any failure is the test's result, not a 500)
            failure = error if isinstance(error, StepFailed) else _unexpected(step.name, error)
            results.append(
                StepResult(
                    step.name,
                    "failed",
                    code=failure.code,
                    message=failure.message,
                    hint=failure.hint,
                    retryable=failure.retryable,
                    duration_ms=_milliseconds_since(started),
                )
            )
        else:
            results.append(StepResult(step.name, "passed", duration_ms=_milliseconds_since(started)))
    return results


def _unexpected(step: str, error: Exception) -> StepFailed:
    logger.warning("connection test step %s failed unexpectedly: %s", step, type(error).__name__)
    return StepFailed(
        "unexpected",
        f"{step} failed: {type(error).__name__}: {error}",
        "The test failed in a way it does not know; the message says how. Try again, and tell us if it persists.",
    )


def first_failure(results: Sequence[StepResult]) -> StepResult | None:
    return next((result for result in results if result.status == "failed"), None)


def _milliseconds_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
