"""The PC page's words in Chinese (default) and English, beside the sign-in pages' own."""

from __future__ import annotations

from idp.interaction.i18n import text

SCAN_TEXT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "scan_heading": "扫码登录",
        "scan_intro": "请打开电子社保卡应用（或已领卡的微信、支付宝、银行应用），扫描下方二维码。",
        "scan_waiting": "等待扫码…二维码过期前会自动更新。",
        "scan_scanned": "已扫码。请在手机上核对网站名称，并选择下面这个数字：",
        "scan_approved": "手机已确认，正在登录…",
        "scan_denied": "手机上已拒绝登录，或选错了数字。",
        "scan_expired": "二维码已过期。",
        "scan_again": "重新获取二维码",
        "scan_continue": "继续",
        "scan_warning": (
            "只扫描您自己在这台电脑上打开的二维码。"
            "不要扫描别人发给您的二维码：那会让对方登录您的账户。"
        ),
        "scan_pin_instead": "改用卡号和密码登录",
        "scan_demo_text": "演示：手机页面粘贴此文本",
    },
    "en": {
        "scan_heading": "Sign in with your phone",
        "scan_intro": (
            "Open your e-card app (or the WeChat, Alipay or bank app that holds your e-card)"
            " and scan this code."
        ),
        "scan_waiting": "Waiting for the scan… the code renews itself before it expires.",
        "scan_scanned": "Scanned. On the phone, check the site's name and choose this number:",
        "scan_approved": "Confirmed on the phone. Signing you in…",
        "scan_denied": "The sign-in was refused on the phone, or the wrong number was chosen.",
        "scan_expired": "The code has expired.",
        "scan_again": "Get a new code",
        "scan_continue": "Continue",
        "scan_warning": (
            "Only scan a code you opened yourself on this computer. Never scan a code someone"
            " sent you: it would sign them in as you."
        ),
        "scan_pin_instead": "Sign in with card number and PIN instead",
        "scan_demo_text": "Demo: paste this text into the phone page",
    },
}


def scan_text(locale: str) -> dict[str, str]:
    return {**text(locale), **SCAN_TEXT.get(locale, SCAN_TEXT["zh-CN"])}
