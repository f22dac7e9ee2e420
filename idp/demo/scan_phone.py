"""The demo phone page for scan-to-sign-in, ``/demo/phone/scan``: plays the e-SSC app
(``idp.demo.scan_app``). Paste the text of the PC page's QR (a real app scans it); the page
shows what the channel API answers (portal, PC network, time, three numbers); choosing a number
approves with a fresh channel assertion, through the same service as ``/api/v1/scan-signin``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint
from flask import g
from flask import render_template
from flask import request

from idp.demo.csrf import guard
from idp.demo.scan_app import assertion
from idp.http.http import provider
from idp.interaction.i18n import BEIJING
from idp.interaction.i18n import text
from idp.scan_signin import formats
from idp.scan_signin.transitions import Refused

bp = guard(Blueprint("demo_scan_phone", __name__, url_prefix="/demo/phone/scan"))


def _page(**values: Any) -> str:
    defaults: dict[str, Any] = {"scanned": None, "result": None, "refused": None, "request": ""}
    return render_template(
        "demo/scan_phone.html", t=text("zh-CN"), locale="zh-CN", **{**defaults, **values}
    )


@bp.get("")
def start() -> str:
    """The paste form; with ``request``, the confirmation of a request this phone scanned,
    shown again (where the 长辈版 switch on the confirmation comes back to)."""
    if "request" in request.args:
        return _confirmation(request.args["request"].strip()[:64], again=True)
    return _page()


@bp.post("")
def scan() -> str:
    return _confirmation(request.form.get("request", "").strip()[:64], again=False)


def _confirmation(qr: str, *, again: bool) -> str:
    p = provider()
    phone = formats.network_of(request.remote_addr)
    try:
        with p.unit_of_work(g.request_id) as uow:
            ref_hash = p.scan_signin.reference(qr)
            holder = p.scan_signin.holder(uow, assertion(p), p.now())
            step = p.scan_signin.scanned if again else p.scan_signin.scan
            found = step(uow, ref_hash, holder, phone, p.now())
    except Refused as refused:
        return _page(refused=refused.slug, request=qr)
    g.ui_next = f"{bp.url_prefix}?{urlencode({'request': qr})}"  # the 长辈版 switch's way back
    client = p.clients.get(found.client_id)
    scanned = {
        "found": found,
        "portal": client.name if client else "",
        "location": p.scan_signin.regions.locate(found.pc_network) or "未知",
        "requested_at": datetime.fromtimestamp(found.created_at, BEIJING).strftime("%H:%M:%S"),
    }
    return _page(scanned=scanned, request=qr)


@bp.post("/decide")
def decide() -> str:
    p, qr = provider(), request.form.get("request", "")[:64]
    raw = request.form.get("number", "")
    picked = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 4 else None
    number = formats.parse_number(picked)
    phone = formats.network_of(request.remote_addr)
    try:
        with p.unit_of_work(g.request_id) as uow:
            ref_hash = p.scan_signin.reference(qr)
            holder = p.scan_signin.holder(uow, assertion(p), p.now())
            if number is None:
                decision = p.scan_signin.deny(uow, ref_hash, holder, phone, p.now())
            else:
                decision = p.scan_signin.approve(uow, ref_hash, holder, number, phone, p.now())
    except Refused as refused:
        return _page(refused=refused.slug)
    return _page(result=decision)
