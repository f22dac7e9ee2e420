"""The demo merchant: a real client of essc-idp over HTTP (README, "Try scan-to-pay").

    .venv/bin/python docs/examples/merchant.py code
    .venv/bin/python docs/examples/merchant.py pay --amount 88800 [--code CODE]

``code`` prints the payment code the phone page shows now. ``pay`` reads it (or takes
``--code``), verifies it offline against the published ``/qr/jwks.json`` and status list
(``idp.qr.verifier``, as ``essc qr verify`` does), authorizes a payment with it (the one online
redemption of a payment code), polls while the phone asks for the PIN, captures, and refunds.
Credentials: ``instance/demo-merchant.json``, written by ``essc demo``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from idp.qr.token import QrTokenError
from idp.qr.verifier import JwksFetcher
from idp.qr.verifier import OfflineVerifier
from idp.qr.verifier import StatusListFetcher

POLL_SECONDS = 1.0
CODE_ATTRIBUTE = re.compile(r'data-code="([0-9A-Z $%*+\-./:]+)"')


class Refused(Exception):
    """The platform answered with a problem (RFC 7807)."""


def call(method: str, url: str, headers: dict[str, str], body: Any = None) -> Any:
    answer = requests.request(method, url, headers=headers, json=body, timeout=10)
    if answer.status_code >= 400:
        problem = answer.json()
        raise Refused(f"{answer.status_code} {problem.get('title')} ({problem.get('type')})")
    return answer.json()


def token(issuer: str, creds: dict[str, str]) -> dict[str, str]:
    """A client credentials access token (RFC 6749 4.4) with the payment scope."""
    answer = requests.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials", "scope": "essc.pay"},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def phone_code(issuer: str) -> str:
    """The code the phone page shows now (a scanner would read it from the screen)."""
    page = requests.get(f"{issuer}/demo/phone", timeout=10)
    found = CODE_ATTRIBUTE.search(page.text)
    if found is None:
        raise SystemExit("the phone page shows no payment code (is the card suspended?)")
    return found.group(1)


def verify_offline(issuer: str, code: str) -> None:
    keys = JwksFetcher(f"{issuer}/qr/jwks.json")
    status = StatusListFetcher(f"{issuer}/qr/status-list", keys.key_set)
    try:
        verified = OfflineVerifier(keys, status).verify(code, "payment")
    except QrTokenError as refused:
        print(f"offline: refused ({refused.reason})")
        return
    print(f"offline: valid payment code {verified.code_id}, expires at {verified.expires_at}")


def pay(issuer: str, headers: dict[str, str], code: str, amount: int, wait: float) -> int:
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    body = {
        "code": code,
        "amount_fen": amount,
        "currency": "CNY",
        "merchant_order_id": f"demo-{int(time.time())}",
    }
    try:
        payment = call("POST", f"{issuer}/api/v1/payments", {**headers, **key}, body)
    except Refused as refused:
        print(f"authorize: refused {refused}")
        return 1
    url = f"{issuer}/api/v1/payments/{payment['payment_id']}"
    print(f"authorize: {payment['payment_id']} {payment['state']}")
    deadline = time.monotonic() + wait
    if payment["state"] == "pending_confirmation":
        print("waiting: confirm on the phone page with the PIN")
    while payment["state"] == "pending_confirmation" and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        payment = call("GET", url, headers)
    print(f"state: {payment['state']}")
    if payment["state"] != "authorized":
        return 1
    captured = call("POST", f"{url}/capture", headers)
    print(f"capture: {captured['state']} {captured['captured_fen']} fen")
    refund_key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    refunded = call("POST", f"{url}/refunds", {**headers, **refund_key}, {"amount_fen": amount})
    print(f"refund: {json.dumps(refunded, sort_keys=True)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_instance = os.environ.get("ESSC_INSTANCE_DIR", "instance")
    parser.add_argument("--instance", default=default_instance, help="essc's instance directory")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("code", help="print the phone page's payment code")
    paying = commands.add_parser("pay", help="verify offline, authorize, capture, refund")
    paying.add_argument("--amount", type=int, required=True, help="fen (88800 = ¥888.00)")
    paying.add_argument("--code", help="a code read earlier (default: the phone page's now)")
    paying.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the PIN")
    args = parser.parse_args()
    creds = json.loads((Path(args.instance) / "demo-merchant.json").read_text())
    issuer = creds["issuer"]
    if args.command == "code":
        print(phone_code(issuer))
        return 0
    code = args.code or phone_code(issuer)
    verify_offline(issuer, code)
    return pay(issuer, token(issuer, creds), code, args.amount, args.wait)


if __name__ == "__main__":
    sys.exit(main())
