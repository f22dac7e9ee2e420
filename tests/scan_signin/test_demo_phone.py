"""``make run``'s demo phone page for scan-to-sign-in (``/demo/phone/scan``) plays the e-SSC
app: paste the PC's QR text, see the portal and three numbers, pick the PC's, approved."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from idp.app import create_app
from idp.demo.scan_app import APP_FILE
from idp.demo.scan_app import seed_scan_app
from idp.demo.wallet import seed_wallet
from tests.conftest import Registered
from tests.scan_signin.helpers import open_scan_page


def test_the_demo_phone_approves(provider: Any) -> None:
    with provider.unit_of_work() as uow:
        provider.demo_data.seed(uow)
    with provider.unit_of_work() as uow:
        seed_wallet(provider, uow)
    for _ in range(2):  # idempotent
        with provider.unit_of_work() as uow:
            seed_scan_app(provider, uow)
    instance = Path(provider.settings.instance_dir)
    assert (instance / APP_FILE).stat().st_mode & 0o077 == 0
    client = json.loads((instance / "demo-client.json").read_text())
    portal = Registered(client["client_id"], client["client_secret"], client["redirect_uri"])
    web = create_app(provider.settings.with_overrides(demo=True), provider=provider).test_client()
    base, qr, _ = open_scan_page(web, portal)
    phone = web.application.test_client()
    start = phone.get("/demo/phone/scan").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', start)
    assert found, "the phone page's form carries its CSRF token"
    token = found.group(1)

    shown = phone.post("/demo/phone/scan", data={"request": qr, "csrf_token": token})
    shown = shown.get_data(as_text=True)
    assert "示例政务门户" in shown and 'id="pc-network"' in shown
    choices = [int(n) for n in re.findall(r'name="number" value="(\d+)"', shown)]
    number = web.get(f"{base}/scan/status").json["number"]
    assert number in choices and len(choices) == 3
    # The 长辈版 switch on this POST's answer comes back to the same confirmation, as a GET.
    back = re.search(r'name="next" value="([^"]+)"', shown)
    assert back and back.group(1).startswith("/demo/phone/scan?request=")
    redrawn = phone.get(back.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert re.findall(r'name="number" value="(\d+)"', redrawn) == [str(n) for n in choices]
    assert web.get(f"{base}/scan/status").json["state"] == "scanned", "nothing changed"
    stranger = phone.get("/demo/phone/scan", query_string={"request": "not-a-qr"})
    assert stranger.status_code == 200 and "invalid-request" in stranger.get_data(as_text=True)

    decide = {"request": qr, "csrf_token": token}
    done = phone.post("/demo/phone/scan/decide", data={**decide, "number": str(number)})
    assert "已确认登录" in done.get_data(as_text=True)
    assert web.get(f"{base}/scan/status").json["state"] == "approved"
    again = phone.post("/demo/phone/scan/decide", data={**decide, "number": "٣"})
    assert again.status_code == 200 and "scan-request-decided" in again.get_data(as_text=True)
