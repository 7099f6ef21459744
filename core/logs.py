"""structlog configured once per process: console in development, JSON in production.

stdlib loggers (uvicorn, temporalio, sqlalchemy) render through the same processors, and
`request_id` / `ticket` bound with `bind_contextvars` appear on every line.

No key a caller passes can cost its line: a key the line or the log record holds already
(`level`, `event`, `name`, `module` …) is kept as `<key>_` instead of overwriting the field,
crashing the console renderer, or raising in the standard library — in a workflow that raise
would fail the workflow task again and again.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

import structlog

from core.privacy.scrub import redact_log

_configured = False


def _drop_color_message(
    _logger: object, _name: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    # uvicorn adds an ANSI-coloured copy of every message; the renderer colours on its own.
    event.pop("color_message", None)
    return event


# The fields every line gets from the processors below; a caller's key of that name moves aside.
_LINE_KEYS = frozenset({"level", "logger", "timestamp"})
# A record's own attributes; the standard library refuses an `extra` key of these names.
_RECORD_KEYS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


def _aside(key: str, taken: Mapping[str, Any]) -> str:
    safe = f"{key}_"
    while safe in taken:
        safe += "_"
    return safe


def keep_clashing_keys(
    _logger: object, _name: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """structlog processor: a record's `extra` and a call's keywords never overwrite the line.

    Takes the place of structlog's ExtraAdder, which let `extra={"level": 2}` replace the level.
    """
    for key in _LINE_KEYS & event.keys():
        event[_aside(key, event)] = event.pop(key)
    record = event.get("_record")
    if record is None or event.get("_from_structlog"):
        return event
    for key, value in vars(record).items():
        if key in _RECORD_KEYS:
            continue
        if key in _LINE_KEYS or (key in event and event[key] != value):
            key = _aside(key, event)
        event[key] = value
    return event


class _KeepingLogger(logging.Logger):
    """A stdlib logger that keeps an `extra` key the record holds already as `<key>_`."""

    def makeRecord(  # the standard library's name and signature
        self,
        name: str,
        level: int,
        fn: str,
        lno: int,
        msg: object,
        args: Any,
        exc_info: Any,
        func: str | None = None,
        extra: Mapping[str, object] | None = None,
        sinfo: str | None = None,
    ) -> logging.LogRecord:
        if extra and not _RECORD_KEYS.isdisjoint(extra):
            extra = {(_aside(k, extra) if k in _RECORD_KEYS else k): v for k, v in extra.items()}
        return super().makeRecord(name, level, fn, lno, msg, args, exc_info, func, extra, sinfo)


def _keep_record_keys() -> None:
    """Make every stdlib logger a _KeepingLogger, also those made before (temporalio's own)."""
    logging.setLoggerClass(_KeepingLogger)
    for logger in logging.Logger.manager.loggerDict.values():
        if type(logger) is logging.Logger:
            logger.__class__ = _KeepingLogger


SHARED: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    keep_clashing_keys,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _drop_color_message,
    redact_log,  # phones, ID numbers and e-mails never reach a log line
]


def configure_logging(*, json: bool, level: str = "INFO") -> None:
    """Route structlog and stdlib logging through one set of processors (idempotent)."""
    global _configured
    if _configured:
        return
    _configured = True
    _keep_record_keys()
    structlog.configure(
        processors=[*SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(json=json))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def formatter(*, json: bool) -> structlog.stdlib.ProcessorFormatter:
    """The formatter every stdlib record goes through: JSON lines, or the console renderer."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_log,  # again: a traceback's text comes only now
            renderer,
        ],
    )


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
