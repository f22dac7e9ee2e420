"""essc-idp: the identity provider of the electronic social security card (e-SSC)."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    from idp.app import create_app as factory

    return factory(*args, **kwargs)
