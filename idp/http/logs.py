"""What log lines may carry: paths, never query values, tokens or full ID numbers.

Query strings carry ``login_hint`` (an ID number), ``code``, ``access_token`` and ``state``, so
every request log of every server ``essc serve`` starts writes the path only (idp.cli ``serve``);
this module is the second line: a filter on the product's and Werkzeug's loggers that rewrites
whatever slips into a message or a traceback.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC
from datetime import datetime
from typing import TextIO

#: GB 11643 shape, not the check digit: a mistyped number is personal data too.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])([1-9][0-9]{3})[0-9]{10}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")
#: A query value: after ``?`` or ``&`` and a name, up to the next separator.
_QUERY_VALUE = re.compile(r"([?&][^=&?\s\"'#]{1,64}=)[^&\s\"'#]+")
#: A JWS compact serialisation (access and ID tokens, client assertions).
_JWS = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
#: RFC 6750 / RFC 7617 credentials in a quoted header.
_CREDENTIALS = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
REDACTED = "[redacted]"
#: The id of the request this thread is answering (set by idp.http.edge), for every log line.
CURRENT_REQUEST_ID: ContextVar[str | None] = ContextVar("essc_request_id", default=None)


def redact(text: str) -> str:
    """The text with query values, JWTs and credentials removed and ID numbers masked."""
    text = _QUERY_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
    text = _JWS.sub(REDACTED, text)
    text = _CREDENTIALS.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 10 + m.group(2), text)


def path_only(target: str) -> str:
    """``/authorize?login_hint=…`` -> ``/authorize?…``: what a request log may show."""
    path, sep, _ = target.partition("?")
    return path + ("?…" if sep else "")


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (arguments merged) and traceback through ``redact``."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactingFilter()
#: The product's logger and the servers' loggers the product's processes write through.
LOGGERS = (
    "essc.idp",
    "werkzeug",
    "gunicorn.error",
    "gunicorn.access",
    "_granian",
    "granian.access",
)


def redact_product_logs() -> None:
    """Attach the filter once to each logger (filters on a logger see its own records)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


class RequestIdFilter(logging.Filter):
    """Gives each record the id of the request being answered (``None`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = CURRENT_REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


#: The product's loggers: ``essc.idp`` and the modules that log under their own name.
PRODUCT_LOGGERS = ("essc.idp", "idp")


def json_handler(stream: TextIO | None = None) -> logging.Handler:
    """A handler writing JSON lines, every record redacted and carrying its request id (as
    handler filters, so records of child loggers such as ``idp.notifications`` get them too)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_FILTER)
    handler.addFilter(RequestIdFilter())
    return handler


def log_json(stream: TextIO | None = None, level: int = logging.INFO) -> logging.Handler:
    """Write the product's logs as JSON lines (the production entry point, idp.wsgi, does).
    They stop at these loggers, so a server's own root handler does not print them twice."""
    handler = json_handler(stream)
    for name in PRODUCT_LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h.formatter, JsonFormatter)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    return handler
