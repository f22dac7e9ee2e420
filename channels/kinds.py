"""Channel kinds and what each may ask for by default.

A channel is an OAuth client of the platform. Its kind sets the scopes an operator may grant it:
social apps (WeChat, Alipay) identify and query; UnionPay and banks may also use payment
functions; portals sign citizens in; merchants scan QR codes.
"""

from __future__ import annotations

from enum import StrEnum


class ChannelKind(StrEnum):
    WECHAT = "wechat"
    ALIPAY = "alipay"
    UNIONPAY = "unionpay"
    BANK = "bank"
    APP = "app"
    PORTAL = "portal"
    MERCHANT = "merchant"


#: The scopes that identify a cardholder to a relying party (OIDC Core 5.4 plus the e-card's).
IDENTITY_SCOPES = frozenset({"openid", "profile", "essc.card", "essc.idnumber"})

#: Channels that issue e-cards call the e-card API (``idp.ecards.views``) with this scope.
ECARD_SCOPE = "essc.ecard"
#: Merchants (shops, hospitals, pharmacies, transit operators) redeem scanned QR codes once
#: (``idp.qr.redemption``) and take payments with payment codes (``idp.payments``).
QR_REDEEM_SCOPE = "essc.qr.redeem"
PAY_SCOPE = "essc.pay"
#: The pension service reads a person's pension eligibility certification (idp/family/pension.py);
#: a portal-kind server holds it only where an operator grants it, never by default.
PENSION_READ_SCOPE = "essc.pension.read"

#: Scopes each kind may be granted. ``essc.idnumber`` releases the full ID number and is granted
#: only where an operator says so; it is in no kind's default set.
ALLOWED_SCOPES: dict[ChannelKind, frozenset[str]] = {
    ChannelKind.WECHAT: IDENTITY_SCOPES | {ECARD_SCOPE},
    ChannelKind.ALIPAY: IDENTITY_SCOPES | {ECARD_SCOPE},
    ChannelKind.UNIONPAY: IDENTITY_SCOPES | {ECARD_SCOPE, "essc.payment"},
    ChannelKind.BANK: IDENTITY_SCOPES | {ECARD_SCOPE, "essc.payment"},
    ChannelKind.APP: IDENTITY_SCOPES | {ECARD_SCOPE},
    ChannelKind.PORTAL: IDENTITY_SCOPES | {PENSION_READ_SCOPE},
    ChannelKind.MERCHANT: frozenset({"essc.qr.verify", "essc.payment", QR_REDEEM_SCOPE, PAY_SCOPE}),
}

#: Kinds that onboard under the FAPI 2.0 Security Profile unless their metadata says otherwise
#: (``essc_fapi2_security_profile``; docs/security-profile.md): the ones that move money.
FAPI2_KINDS = frozenset({ChannelKind.UNIONPAY, ChannelKind.BANK, ChannelKind.MERCHANT})

DEFAULT_SCOPES: dict[ChannelKind, frozenset[str]] = {
    kind: scopes - {"essc.idnumber", PENSION_READ_SCOPE} for kind, scopes in ALLOWED_SCOPES.items()
}
