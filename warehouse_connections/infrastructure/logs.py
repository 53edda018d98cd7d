"""Logging: one JSON object per line (or readable text on a terminal), each with the request's id."""

import contextvars
import functools
import logging
import sys
import time

import orjson

request_id = contextvars.ContextVar("request_id", default=None)
# Attributes every LogRecord has; anything else on a record was passed in `extra` and is logged as a field.
STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": record.request_id,
        }
        entry.update({key: value for key, value in vars(record).items() if key not in STANDARD_ATTRIBUTES})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC to the millisecond, e.g. 2026-12-01T02:04:03.321+00:00."""
    whole, fraction = divmod(created, 1)
    microseconds = round(fraction * 1_000_000)  # rounded as datetime.fromtimestamp rounds them
    if microseconds == 1_000_000:
        whole, microseconds = whole + 1, 0
    return f"{_second(int(whole))}.{microseconds // 1000:03d}+00:00"


@functools.lru_cache(maxsize=2)  # a busy worker logs many lines a second
def _second(whole_seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole_seconds))


def _record_with_request_id(*args, **kwargs) -> logging.LogRecord:
    record = _make_record(*args, **kwargs)
    record.request_id = request_id.get()
    return record


# Every record, whichever handler gets it, carries the id of the request it was logged in.
_make_record = logging.getLogRecordFactory()
logging.setLogRecordFactory(_record_with_request_id)


def configure_logging(level: str, log_format: str) -> None:
    """`log_format`: json, text, or auto (text when stderr is a terminal)."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json" or (log_format == "auto" and not sys.stderr.isatty()):
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    # Neither format shows the caller's file, thread or process: skip collecting them for every record
    # (the logging HOWTO's "Optimization" section).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The connector's debug output is hundreds of lines per connection test.
    logging.getLogger("snowflake.connector").setLevel(max(logging.INFO, root.level))
