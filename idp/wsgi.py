"""WSGI entry point for production servers: ``granian --interface wsgi idp.wsgi:app``."""

from idp.app import create_app
from idp.http.logs import log_json

log_json()  # the product's log lines as JSON on stderr, each with its request id
app = create_app()
