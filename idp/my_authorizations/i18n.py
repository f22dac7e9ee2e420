"""The words of 我的授权, Chinese (default) and English, beside the shared page words
(``idp.interaction.i18n``): scopes come from ``idp.oidc.claims.SCOPE_LABELS``."""

from __future__ import annotations

from datetime import datetime

from idp.interaction.assurance import ACR_CHANNEL_REALNAME
from idp.interaction.assurance import ACR_FACE
from idp.interaction.assurance import ACR_PIN
from idp.interaction.i18n import BEIJING
from idp.interaction.i18n import text

MY_TEXT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "colon": "：",
        "my_heading": "我的授权",
        "my_intro": "这里列出哪些网站和应用可以使用您的电子社保卡信息。不再需要的，可以撤销。",
        "my_switch": "English",
        "my_portals": "已授权的网站和应用",
        "my_portals_none": "目前没有网站或应用持有您的授权。",
        "my_may_read": "可以获取：",
        "my_granted": "授权时间",
        "my_last_used": "最近使用",
        "my_never_used": "尚未使用",
        "my_revoke_portal": "撤销授权",
        "my_sessions": "登录中的设备",
        "my_session_this": "本设备（当前）",
        "my_session_other": "其他设备",
        "my_signed_in_at": "登录时间",
        "my_verified_by": "核验方式",
        "my_session_portals": "已登录：",
        "my_end_session": "退出此设备",
        "my_ecards": "电子社保卡",
        "my_ecards_none": "您还没有在任何应用中领取电子社保卡。",
        "my_ecard_in": "领取渠道",
        "my_card_number": "社保卡号",
        "my_issued_at": "领取时间",
        "my_level": "用途",
        "my_revoke_ecard": "解除关联",
        "my_unknown_app": "已下线的应用",
        "my_done": "已撤销。相关的登录和授权已立即失效。",
        "my_done_session": "已退出该设备。",
        "my_done_ecard": "已解除关联。该应用中的电子社保卡已停用，我们已通知该应用。",
        "my_already": "这一项之前已经撤销，无需再操作。",
        "my_not_found": "没有找到这一项授权。请返回“我的授权”页面刷新后再看。",
        "my_signin_for": "我的授权",
        "my_reauth": "为了保护您的电子社保卡，解除关联前请再输入一次密码。",
        "acr_pin": "社保卡号和密码",
        "acr_channel": "应用内实名认证",
        "acr_face": "人脸识别",
        "level_1": "身份凭证",
        "level_2": "身份凭证和支付结算",
    },
    "en": {
        "colon": ": ",
        "my_heading": "My authorizations",
        "my_intro": (
            "These websites and apps may use your e-SSC details. Revoke any you no longer need."
        ),
        "my_switch": "中文",
        "my_portals": "Websites and apps you allowed",
        "my_portals_none": "No website or app holds your permission now.",
        "my_may_read": "May read:",
        "my_granted": "Allowed on",
        "my_last_used": "Last used",
        "my_never_used": "Not used yet",
        "my_revoke_portal": "Revoke",
        "my_sessions": "Where you are signed in",
        "my_session_this": "This device (now)",
        "my_session_other": "Another device",
        "my_signed_in_at": "Signed in",
        "my_verified_by": "Checked by",
        "my_session_portals": "Signed in to:",
        "my_end_session": "Sign out this device",
        "my_ecards": "e-cards",
        "my_ecards_none": "You have not claimed an e-card in any app.",
        "my_ecard_in": "Claimed in",
        "my_card_number": "Card number",
        "my_issued_at": "Claimed on",
        "my_level": "Used for",
        "my_revoke_ecard": "Remove from this app",
        "my_unknown_app": "An app no longer in service",
        "my_done": "Revoked. Its sign-ins and permissions stopped working at once.",
        "my_done_session": "That device is signed out.",
        "my_done_ecard": (
            "Removed. The e-card in that app no longer works, and we have told the app."
        ),
        "my_already": "This was already revoked; nothing more to do.",
        "my_not_found": (
            "This authorization was not found. Go back to My authorizations and reload the page."
        ),
        "my_signin_for": "My authorizations",
        "my_reauth": "To protect your e-card, enter your PIN once more before removing it.",
        "acr_pin": "card number and PIN",
        "acr_channel": "real-name check in an app",
        "acr_face": "face check",
        "level_1": "proof of identity",
        "level_2": "proof of identity and payments",
    },
}

_ACR_KEYS = {ACR_PIN: "acr_pin", ACR_CHANNEL_REALNAME: "acr_channel", ACR_FACE: "acr_face"}


def my_text(locale: str) -> dict[str, str]:
    return {**text(locale), **MY_TEXT.get(locale, MY_TEXT["zh-CN"])}


def acr_words(t: dict[str, str], acr: str) -> str:
    return t[_ACR_KEYS.get(acr, "acr_pin")]


def when(seconds: int) -> str:
    """Beijing time, to the minute (the card's own clock, as the PIN lock message says)."""
    return datetime.fromtimestamp(seconds, BEIJING).strftime("%Y-%m-%d %H:%M")
