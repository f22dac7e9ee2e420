"""The demo phone page, ``/demo/phone``: the demo bank wallet's app for 张三 (``idp.demo.wallet``).

It shows a live payment code as server-rendered SVG (``idp.qr.render``); a static script
(``/static/phone.js``, CSP ``script-src 'self'``) reloads the page before the code expires. A
payment above the no-PIN limit waits here for the holder's PIN, which the page relays to
``idp.payments.service.confirm`` as the channel would (docs/payments.md).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from channels.kinds import ChannelKind
from idp.channel_auth.caller import Channel
from idp.demo.wallet import wallet
from idp.errors import Problem
from idp.http.http import provider
from idp.interaction.i18n import text
from idp.payments import service as payments
from idp.payments.views import policy
from idp.qr import render
from idp.qr.token import Purpose
from idp.store.ecards import ECard

bp = Blueprint("demo_phone", __name__, url_prefix="/demo/phone")
#: Reload this many seconds before the code expires, so the shown code is always valid.
REFRESH_MARGIN = 10
SVG_SCALE = 8


def _channel() -> tuple[Channel, str]:
    w = wallet(provider())
    scopes = frozenset({"essc.ecard", "essc.payment"})
    return Channel(w["client_id"], ChannelKind.BANK, scopes), w["sign_no"]


def _code(channel: Channel, sign_no: str) -> dict[str, Any] | Problem:
    p = provider()
    try:
        with p.db.transaction() as session:
            ecard = session.get(ECard, sign_no)
            if ecard is None:
                raise Problem(404, "ecard-not-found", "No such e-card")
            (issued,) = p.qr.issue_batch(
                session,
                ecard,
                Purpose.PAYMENT,
                client_id=channel.client_id,
                request_id=g.get("request_id"),
            )
    except Problem as refused:
        return refused
    return {
        "text": issued.text,
        # segno's SVG of a code we just signed: no input of anyone's reaches it.
        "svg": Markup(render.svg(issued.text, SVG_SCALE, fluid=True).decode()),  # noqa: S704
        "expires_at": issued.token.expires_at,
        "refresh_in": max(1, issued.token.expires_at - p.now() - REFRESH_MARGIN),
    }


def _pending(channel: Channel, sign_no: str) -> list[dict[str, Any]]:
    p = provider()
    with p.unit_of_work() as uow:
        listed = payments.holder_payments(uow, channel, sign_no, now=p.now())
    return [x for x in listed["payments"] if x.get("state") == "pending_confirmation"]


@bp.get("")
def phone() -> str:
    channel, sign_no = _channel()
    code = _code(channel, sign_no)
    refused = code if isinstance(code, Problem) else None
    return render_template(
        "demo/phone.html",
        t=text("zh-CN"),
        locale="zh-CN",
        code=None if refused else code,
        refused=refused,
        pending=_pending(channel, sign_no),
        message=request.args.get("m"),
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
