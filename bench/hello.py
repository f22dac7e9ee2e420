"""The ceiling: the smallest Flask app, served by the same server software as essc-idp."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
