"""The words of 我的授权, Chinese (default) and English, beside the shared page words
(``idp.interaction.i18n``): scopes' words are ``idp.interaction.i18n.SCOPE_TEXT``."""

from __future__ import annotations

from datetime import datetime

from idp.interaction.assurance import ACR_CHANNEL_REALNAME
from idp.interaction.assurance import ACR_FACE
from idp.interaction.assurance import ACR_PIN
from idp.interaction.i18n import BEIJING
from idp.interaction.i18n import N_
from idp.interaction.i18n import TEXT
from idp.interaction.i18n import translated

MY_TEXT: dict[str, str] = {
    "colon": N_("："),
    "my_heading": N_("我的授权"),
    "my_intro": N_("这里列出哪些网站和应用可以使用您的电子社保卡信息。不再需要的，可以撤销。"),
    "my_switch": N_("English"),
    "my_portals": N_("已授权的网站和应用"),
    "my_portals_none": N_("目前没有网站或应用持有您的授权。"),
    "my_may_read": N_("可以获取："),
    "my_granted": N_("授权时间"),
    "my_last_used": N_("最近使用"),
    "my_never_used": N_("尚未使用"),
    "my_revoke_portal": N_("撤销授权"),
    "my_sessions": N_("登录中的设备"),
    "my_session_this": N_("本设备（当前）"),
    "my_session_other": N_("其他设备"),
    "my_signed_in_at": N_("登录时间"),
    "my_verified_by": N_("核验方式"),
    "my_session_portals": N_("已登录："),
    "my_end_session": N_("退出此设备"),
    "my_ecards": N_("电子社保卡"),
    "my_ecards_none": N_("您还没有在任何应用中领取电子社保卡。"),
    "my_ecard_in": N_("领取渠道"),
    "my_card_number": N_("社保卡号"),
    "my_issued_at": N_("领取时间"),
    "my_level": N_("用途"),
    "my_revoke_ecard": N_("解除关联"),
    "my_unknown_app": N_("已下线的应用"),
    "my_done": N_("已撤销。相关的登录和授权已立即失效。"),
    "my_done_session": N_("已退出该设备。"),
    "my_done_ecard": N_("已解除关联。该应用中的电子社保卡已停用，我们已通知该应用。"),
    "my_already": N_("这一项之前已经撤销，无需再操作。"),
    "my_not_found": N_("没有找到这一项授权。请返回“我的授权”页面刷新后再看。"),
    "my_signin_for": N_("我的授权"),
    "my_reauth": N_("为了保护您的电子社保卡，解除关联前请再输入一次密码。"),
    "acr_pin": N_("社保卡号和密码"),
    "acr_channel": N_("应用内实名认证"),
    "acr_face": N_("人脸识别"),
    "level_1": N_("身份凭证"),
    "level_2": N_("身份凭证和支付结算"),
}

_ACR_KEYS = {ACR_PIN: "acr_pin", ACR_CHANNEL_REALNAME: "acr_channel", ACR_FACE: "acr_face"}


def my_text(locale: str) -> dict[str, str]:
    return translated(locale, TEXT, MY_TEXT)


def acr_words(t: dict[str, str], acr: str) -> str:
    return t[_ACR_KEYS.get(acr, "acr_pin")]


def when(seconds: int) -> str:
    """Beijing time, to the minute (the card's own clock, as the PIN lock message says)."""
    return datetime.fromtimestamp(seconds, BEIJING).strftime("%Y-%m-%d %H:%M")
