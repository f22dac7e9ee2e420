"""The demo hospital's scanner: reads a medical code as a hospital does (README, "Try the family
story"), with the demo merchant's credentials (``instance/demo-merchant.json``, ``essc demo``).

    .venv/bin/python docs/examples/hospital.py scan CODE

It first verifies the code **offline** against the published ``/qr/jwks.json`` and status list
(``idp.qr.verifier``) and says whether a relative showed it (the code's actor flag, docs/qr-token.md
3), then **redeems** it online once (``POST /api/v1/qr/redemptions``, purpose ``medical``, the
client credentials grant with ``essc.qr.redeem``): the answer carries what medical settlement
needs, the holder's name and masked card number. Exit status 0 when the redemption succeeded,
1 when the code was refused (offline or online).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import requests

from idp.qr.token import QrTokenError
from idp.qr.verifier import JwksFetcher
from idp.qr.verifier import OfflineVerifier
from idp.qr.verifier import StatusListFetcher


def verify_offline(issuer: str, code: str) -> bool:
    keys = JwksFetcher(f"{issuer}/qr/jwks.json")
    status = StatusListFetcher(f"{issuer}/qr/status-list", keys.key_set)
    try:
        verified = OfflineVerifier(keys, status).verify(code, "medical")
    except QrTokenError as refused:
        print(f"offline: refused ({refused.reason})")
        return False
    shown_by = "a relative (family proxy)" if verified.actor is not None else "the holder"
    print(f"offline: valid medical code {verified.code_id}, shown by {shown_by}")
    return True


def redeem(issuer: str, creds: dict[str, str], code: str) -> bool:
    token = requests.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials", "scope": "essc.qr.redeem"},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    token.raise_for_status()
    answer = requests.post(
        f"{issuer}/api/v1/qr/redemptions",
        json={"code": code, "purpose": "medical"},
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        timeout=10,
    )
    body = answer.json()
    if answer.status_code != 201:
        print(f"redeem: refused {answer.status_code} {body.get('type', '').rsplit('/', 1)[-1]}")
        return False
    print(f"redeem: {body['name']} {body['card_number_masked']} ({body['redemption_id']})")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_instance = os.environ.get("ESSC_INSTANCE_DIR", "instance")
    parser.add_argument("--instance", default=default_instance, help="essc's instance directory")
    commands = parser.add_subparsers(dest="command", required=True)
    scan = commands.add_parser("scan", help="verify offline, then redeem once")
    scan.add_argument("code", help="the code's text (the phone page's data-code)")
    args = parser.parse_args()
    creds = json.loads((Path(args.instance) / "demo-merchant.json").read_text())
    issuer = creds["issuer"]
    if not verify_offline(issuer, args.code):
        return 1
    return 0 if redeem(issuer, creds, args.code) else 1


if __name__ == "__main__":
    sys.exit(main())
