"""How a signed notification travels: one HTTP POST with timeouts, no redirects.

Any 2xx is delivered (RFC 8935 2.2 answers 202 Accepted; channels' SDKs answer 200). Everything
else, including 3xx (a redirect could point anywhere), a timeout or a refused connection, is a
failed attempt. ``last_error`` keeps a short ASCII reason and never the response body: the
receiver controls it, and it could carry anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import requests


@dataclass(frozen=True)
class Outcome:
    """What one POST achieved: ``delivered``, or why not and any ``Retry-After`` seconds."""

    delivered: bool
    error: str | None = None
    retry_after: int | None = None


class Transport(Protocol):
    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Outcome: ...


def retry_after_seconds(value: str | None) -> int | None:
    """RFC 9110 10.2.3 delay-seconds form only; an HTTP-date is ignored (backoff applies)."""
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


class RequestsTransport:
    """POST with ``requests``: connect and read timeouts, redirects not followed."""

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        trust_env: bool = True,
    ) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self._session = requests.Session()
        # trust_env lets an operator route egress through HTTPS_PROXY; tests turn it off.
        self._session.trust_env = trust_env

    @property
    def longest_seconds(self) -> float:
        return self.timeout[0] + self.timeout[1]

    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        try:
            response = self._session.post(
                url, data=body, headers=dict(headers), timeout=self.timeout, allow_redirects=False
            )
        except requests.Timeout:
            return Outcome(False, "timeout")
        except requests.ConnectionError:
            return Outcome(False, "connection failed")
        except requests.RequestException as exc:
            return Outcome(False, f"request failed ({type(exc).__name__})")
        with response:
            if 200 <= response.status_code < 300:
                return Outcome(True)
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            return Outcome(False, f"http {response.status_code}", retry_after)

    def close(self) -> None:
        self._session.close()
