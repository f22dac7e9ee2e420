"""The PC page's words in Chinese (default) and English, beside the sign-in pages' own."""

from __future__ import annotations

from idp.interaction.i18n import N_
from idp.interaction.i18n import TEXT
from idp.interaction.i18n import translated

SCAN_TEXT: dict[str, str] = {
    "scan_heading": N_("扫码登录"),
    "scan_intro": N_("请打开电子社保卡应用（或已领卡的微信、支付宝、银行应用），扫描下方二维码。"),
    "scan_waiting": N_("等待扫码…二维码过期前会自动更新。"),
    "scan_scanned": N_("已扫码。请在手机上核对网站名称，并选择下面这个数字："),
    "scan_approved": N_("手机已确认，正在登录…"),
    "scan_denied": N_("手机上已拒绝登录，或选错了数字。"),
    "scan_expired": N_("二维码已过期。"),
    "scan_again": N_("重新获取二维码"),
    "scan_continue": N_("继续"),
    "scan_warning": N_(
        "只扫描您自己在这台电脑上打开的二维码。不要扫描别人发给您的二维码：那会让对方登录您的账户。"
    ),
    "scan_pin_instead": N_("改用卡号和密码登录"),
    "scan_demo_text": N_("演示：手机页面粘贴此文本"),
}


def scan_text(locale: str) -> dict[str, str]:
    return translated(locale, TEXT, SCAN_TEXT)
