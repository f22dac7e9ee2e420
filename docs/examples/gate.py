"""The demo bus gate: verifies the phone's offline ride codes as a gate does (README tour).

    .venv/bin/python docs/examples/gate.py batch > ride-codes.txt
    .venv/bin/python docs/examples/gate.py watch ride-codes.txt [--every 5] [--for 300]

``batch`` prints the transit codes the wallet's ride page holds now (``/demo/phone/ride``: the
phone stocking up before it goes offline on the bus), one per line. ``watch`` is the gate: it
keeps the published ``/qr/jwks.json`` and ``/qr/status-list`` as ``idp.qr.verifier`` does
(fetched, cached, fetched again once the list's ``ttl`` has passed) and every few seconds
verifies the code of the batch that is valid now, one line each. It stops at the first refusal:
exit status 0 when the code was refused as revoked, 1 for any other ending.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import requests

from idp.qr.token import QrTokenError
from idp.qr.token import decode
from idp.qr.verifier import JwksFetcher
from idp.qr.verifier import OfflineVerifier
from idp.qr.verifier import StatusListFetcher

CODE_ATTRIBUTE = re.compile(r'data-code="([0-9A-Z $%*+\-./:]+)"')


def batch(issuer: str) -> int:
    page = requests.get(f"{issuer}/demo/phone/ride", timeout=10)
    codes = CODE_ATTRIBUTE.findall(page.text)
    if not codes:
        print("the ride page shows no transit code (is the card suspended?)", file=sys.stderr)
        return 1
    print("\n".join(codes))
    return 0


def current(codes: list[str], now: float) -> int | None:
    """The index of the code whose validity window holds ``now``."""
    for i, code in enumerate(codes):
        token = decode(code).token
        if token.issued_at <= now < token.expires_at:
            return i
    return None


def clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def watch(issuer: str, codes: list[str], every: float, duration: float) -> int:
    keys = JwksFetcher(f"{issuer}/qr/jwks.json")
    status = StatusListFetcher(f"{issuer}/qr/status-list", keys.key_set)
    verifier = OfflineVerifier(keys, status)
    deadline = time.time() + duration
    while time.time() < deadline:
        now = time.time()
        i = current(codes, now)
        if i is None:
            print(f"{clock(now)} no code of the batch is valid now")
            return 1
        try:
            verifier.verify(codes[i], "transit")
            outcome = "valid"
        except QrTokenError as refused:
            outcome = f"refused: {refused.reason}"
        listed = clock(status.status_list().issued_at)
        scanned = f"ride code {i + 1}/{len(codes)} {outcome}"
        print(f"{clock(time.time())} {scanned} (status list of {listed})")
        sys.stdout.flush()
        if outcome != "valid":
            return 0 if outcome == "refused: revoked" else 1
        time.sleep(every)
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_instance = os.environ.get("ESSC_INSTANCE_DIR", "instance")
    parser.add_argument("--instance", default=default_instance, help="essc's instance directory")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("batch", help="print the ride page's transit codes, one per line")
    watching = commands.add_parser("watch", help="verify the code valid now until one is refused")
    watching.add_argument("codes", type=Path, help="the file `batch` wrote")
    watching.add_argument("--every", type=float, default=5.0, help="seconds between scans")
    watching.add_argument("--for", dest="duration", type=float, default=300.0, help="seconds")
    args = parser.parse_args()
    issuer = json.loads((Path(args.instance) / "demo-merchant.json").read_text())["issuer"]
    if args.command == "batch":
        return batch(issuer)
    # Base45 has a space in its alphabet: a code may end with one, so lines are not stripped.
    codes = [line for line in args.codes.read_text().split("\n") if line]
    return watch(issuer, codes, args.every, args.duration)


if __name__ == "__main__":
    sys.exit(main())
