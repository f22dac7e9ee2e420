"""The demo phone page, ``/demo/phone``: the demo bank wallet's app for 张三 (``idp.demo.wallet``).

It shows a live payment code as server-rendered SVG (``idp.qr.render``); a static script
(``/static/phone.js``, CSP ``script-src 'self'``) reloads the page before the code expires. A
payment above the no-PIN limit waits here for the holder's PIN, which the page relays to
``idp.payments.service.confirm`` as the channel would (docs/payments.md).

``/demo/phone/code/medical`` and ``/demo/phone/code/identity`` show the holder's medical and
identity codes the same way.

``/demo/phone/ride`` is the wallet going offline on a bus: a batch of consecutive transit codes
(docs/qr-token.md 3), shown one after the other without asking the platform again. The gate
script (``docs/examples/gate.py``) reads the batch and verifies it offline.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import abort
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from channels.kinds import ChannelKind
from idp.channel_auth.caller import Channel
from idp.demo.csrf import guard
from idp.demo.wallet import wallet
from idp.errors import Problem
from idp.http.http import provider
from idp.interaction.i18n import text
from idp.payments import service as payments
from idp.payments.views import policy
from idp.qr import render
from idp.qr.service import IssuedCode
from idp.qr.token import Purpose
from idp.store.ecards import ECard

bp = guard(Blueprint("demo_phone", __name__, url_prefix="/demo/phone"))
#: Reload this many seconds before the code expires, so the shown code is always valid.
REFRESH_MARGIN = 10
SVG_SCALE = 8
#: Transit codes the wallet holds at once: five minutes of rides without the network.
RIDE_BATCH = 5


def _channel() -> tuple[Channel, str]:
    w = wallet(provider())
    scopes = frozenset({"essc.ecard", "essc.payment"})
    return Channel(w["client_id"], ChannelKind.BANK, scopes), w["sign_no"]


def _codes(
    channel: Channel, sign_no: str, purpose: Purpose, count: int = 1
) -> list[IssuedCode] | Problem:
    p = provider()
    try:
        with p.db.transaction() as session:
            ecard = session.get(ECard, sign_no)
            if ecard is None:
                raise Problem(404, "ecard-not-found", "No such e-card")
            return p.qr.issue_batch(
                session,
                ecard,
                purpose,
                count,
                client_id=channel.client_id,
                request_id=g.get("request_id"),
            )
    except Problem as refused:
        return refused


def _svg(issued: IssuedCode) -> Markup:
    # segno's SVG of a code we just signed: no input of anyone's reaches it.
    return Markup(render.svg(issued.text, SVG_SCALE, fluid=True).decode())  # noqa: S704


def _shown(first: IssuedCode, last: IssuedCode) -> dict[str, Any]:
    """``first`` as SVG; reload before ``last`` expires."""
    return {
        "text": first.text,
        "svg": _svg(first),
        "expires_at": first.token.expires_at,
        "refresh_in": max(1, last.token.expires_at - provider().now() - REFRESH_MARGIN),
    }


def _pending(channel: Channel, sign_no: str) -> list[dict[str, Any]]:
    p = provider()
    with p.unit_of_work() as uow:
        listed = payments.holder_payments(uow, channel, sign_no, now=p.now())
    return [x for x in listed["payments"] if x.get("state") == "pending_confirmation"]


@bp.get("")
def phone() -> str:
    channel, sign_no = _channel()
    codes = _codes(channel, sign_no, Purpose.PAYMENT)
    refused = codes if isinstance(codes, Problem) else None
    return render_template(
        "demo/phone.html",
        t=text("zh-CN"),
        locale="zh-CN",
        code=None if isinstance(codes, Problem) else _shown(codes[0], codes[0]),
        refused=refused,
        pending=_pending(channel, sign_no),
        message=request.args.get("m"),
    )


@bp.get("/ride")
def ride() -> str:
    """The first code of a fresh batch as SVG, the whole batch as data for the gate script."""
    channel, sign_no = _channel()
    codes = _codes(channel, sign_no, Purpose.TRANSIT, RIDE_BATCH)
    refused = codes if isinstance(codes, Problem) else None
    return render_template(
        "demo/ride.html",
        t=text("zh-CN"),
        locale="zh-CN",
        code=None if isinstance(codes, Problem) else _shown(codes[0], codes[-1]),
        batch=[] if isinstance(codes, Problem) else codes,
        refused=refused,
        svg=_svg,
    )


#: The wallet's own codes besides payment and transit: what each page is called and says.
SHOWN = {
    "medical": ("医保码", "Medical code", "向医生或药店出示此码"),
    "identity": ("社保卡身份码", "Identity code", "向办事的工作人员出示此码"),
}


@bp.get("/code/<purpose>")
def code(purpose: str) -> str:
    """The holder's medical or identity code (docs/qr-token.md), renewed like the payment code."""
    if purpose not in SHOWN:
        abort(404)
    channel, sign_no = _channel()
    codes = _codes(channel, sign_no, Purpose(purpose))
    title, english, hint = SHOWN[purpose]
    return render_template(
        "demo/code.html",
        t=text("zh-CN"),
        locale="zh-CN",
        purpose=purpose,
        title=title,
        english=english,
        hint=hint,
        code=None if isinstance(codes, Problem) else _shown(codes[0], codes[0]),
        refused=codes if isinstance(codes, Problem) else None,
    )


@bp.post("/confirm")
def confirm() -> BaseResponse:
    p = provider()
    channel, sign_no = _channel()
    payment_id = request.form.get("payment_id", "")
    pin = request.form.get("pin", "")
    try:
        with p.unit_of_work() as uow:
            payments.confirm(uow, channel, sign_no, payment_id, pin, policy(p), now=p.now())
    except Problem as refused:
        return redirect(f"/demo/phone?m={refused.slug}", 303)
    return redirect("/demo/phone?m=confirmed", 303)
