"""Where the transfer log goes: JSON lines to a rotating file, readable lines on the terminal, both masked.

structlog builds each event once (level, UTC time, exception text, then masking as the last step before
rendering); the standard library's handlers do the rotation, by size (`max_bytes` + `backups`) or by time
(`when` = "midnight", "H", "D"...). A rotated file is renamed, never rewritten, so a reader tailing it loses
nothing.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import structlog

from gateway.observability.masking import mask_processor

LOGGER_NAME = "ltcgw"


@dataclass(frozen=True, slots=True)
class LogSettings:
    """`[log]` in gateway.toml."""

    path: Path | None = None  # None: terminal only
    rotate: str = "size"  # "size" or "time"
    max_bytes: int = 10 * 1024 * 1024
    backups: int = 10
    when: str = "midnight"  # for rotate = "time": a TimedRotatingFileHandler `when`
    level: str = "INFO"


class _Stdout(logging.StreamHandler):
    """The terminal as it is now (sys.stdout may be replaced after configuration, e.g. by a test's capture)."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass

    def handleError(self, record: logging.LogRecord) -> None:
        # The terminal's reader is gone (`ltcgw run --once | head`): no traceback per log line; the work goes
        # on (the log file, when set, still gets every line) and the entry point ends quietly.
        if not isinstance(sys.exc_info()[1], BrokenPipeError):
            super().handleError(record)


def _file_handler(settings: LogSettings) -> logging.Handler:
    assert settings.path is not None
    settings.path.parent.mkdir(parents=True, exist_ok=True)
    if settings.rotate == "time":
        return logging.handlers.TimedRotatingFileHandler(
            settings.path, when=settings.when, backupCount=settings.backups, encoding="utf-8", utc=True
        )
    return logging.handlers.RotatingFileHandler(
        settings.path, maxBytes=settings.max_bytes, backupCount=settings.backups, encoding="utf-8"
    )


def _formatter(renderer: Any) -> structlog.stdlib.ProcessorFormatter:
    return structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, mask_processor, renderer],
        foreign_pre_chain=[structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso", utc=True)],
    )


def configure(settings: LogSettings | None = None, *, json_lines: bool = False, quiet: bool = False,
              stream: TextIO | None = None) -> None:
    """Send the transfer log to the terminal (`stream`, default stdout) and, when `settings.path` is set, to a
    rotating JSON-lines file. `json_lines` puts JSON on the terminal too; `quiet` keeps only alerts there."""
    settings = settings or LogSettings()
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = False
    logger.setLevel(getattr(logging, settings.level.upper(), logging.INFO))
    json_renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    terminal = logging.StreamHandler(stream) if stream is not None else _Stdout()
    terminal.setFormatter(_formatter(json_renderer if json_lines else structlog.dev.ConsoleRenderer(colors=False)))
    terminal.setLevel(logging.WARNING if quiet else logging.DEBUG)
    logger.addHandler(terminal)
    if settings.path is not None:
        handler = _file_handler(settings)
        handler.setFormatter(_formatter(json_renderer))
        logger.addHandler(handler)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,  # the traceback becomes text, then masked like the rest
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=lambda *_: logger,
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def reset() -> None:
    """Back to structlog's defaults (tests that configured the log undo it)."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    structlog.reset_defaults()
