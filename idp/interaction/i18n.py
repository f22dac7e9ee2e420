"""Page text in Chinese (default) and English (``ui_locales=en``). Never in OAuth errors."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from datetime import timezone

from idp.cardholders.service import PinCheck

TEXT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "电子社保卡 统一身份认证",
        "signin_heading": "登录",
        "signin_to": "登录以继续访问",
        "signin_again": "您已登录，但为了保障安全，此网站要求您重新输入密码。",
        "credential": "社保卡号或公民身份号码",
        "pin": "电子社保卡密码（6位数字）",
        "signin_button": "登录",
        "signin_failed": "卡号、身份号码或密码不正确。还可以再试 {tries} 次，之后密码将被锁定。",
        "signin_last_try": (
            "卡号、身份号码或密码不正确。这是最后一次机会：再输错一次，密码将被锁定。"
        ),
        "signin_locked": (
            "密码错误次数过多，已被锁定。"
            "请在 {until}（北京时间）之后再试，或到社保经办机构重置密码。"
        ),
        "signin_locked_later": "密码错误次数过多，已被锁定。请稍后再试，或到社保经办机构重置密码。",
        "card_unusable": (
            "您的社保卡当前不可用（已挂失或注销）。"
            "请到社保经办机构或通过电子社保卡应用办理解挂或补卡。"
        ),
        "step_up_app": (
            "此网站需要更高级别的身份核验，无法仅用密码登录。"
            "请打开您的电子社保卡应用扫码登录，或在应用内直接登录。"
        ),
        "scan_link": "用电子社保卡应用扫码登录",
        "consent_heading": "授权确认",
        "consent_intro": "请求获取您的以下信息：",
        "consent_approve": "同意",
        "consent_deny": "拒绝",
        "error_heading": "无法继续",
        "expired": "本次登录已过期或无效，请返回应用重新发起。",
        "bad_request": (
            "应用发来的登录请求不完整，无法继续。"
            "请返回应用重新点击登录；如果仍然不行，请联系该应用的客服。"
        ),
        "bad_form": "页面已过期，请刷新后重试。",
        "too_many_requests": "请求过于频繁，请稍后再试。",
        "server_error": "服务暂时不可用，这不是您的问题。请过几分钟再试。",
        "continue": "继续",
        "logout_heading": "退出登录",
        "logout_confirm": (
            "确定要退出电子社保卡登录吗？退出后，通过它登录的各个应用都需要重新登录。"
        ),
        "logout_from": "发起退出的应用：",
        "logout_yes": "退出",
        "logout_done": "您已退出登录。可以关闭此页面。",
        "logout_bad_uri": "应用给出的返回地址未登记，无法返回该应用。您的登录状态未改变。",
        "logout_bad_hint": "退出请求无效，无法确认是哪个应用发起的。您的登录状态未改变。",
        "request_id": "请求编号（联系客服时提供）",
    },
    "en": {
        "title": "e-SSC sign-in",
        "signin_heading": "Sign in",
        "signin_to": "Sign in to continue to",
        "signin_again": (
            "You are signed in, but for your security this site asks for your PIN again."
        ),
        "credential": "Card number or citizen ID number",
        "pin": "e-card PIN (6 digits)",
        "signin_button": "Sign in",
        "signin_failed": (
            "The card number, ID number or PIN is not right. You can try {tries} more times"
            " before the PIN is locked."
        ),
        "signin_last_try": (
            "The card number, ID number or PIN is not right. This is your last try: one more"
            " wrong PIN locks it."
        ),
        "signin_locked": (
            "Too many wrong PINs: the PIN is locked. Try again after {until} (Beijing time),"
            " or reset the PIN at a social security office."
        ),
        "signin_locked_later": (
            "Too many wrong PINs: the PIN is locked. Try again later, or reset the PIN at a"
            " social security office."
        ),
        "card_unusable": (
            "Your card cannot be used now (reported lost or cancelled). Visit a social security"
            " office or use the e-card app to restore or replace it."
        ),
        "step_up_app": (
            "This site needs a stronger check of who you are than a PIN. Sign in through"
            " your e-card app: scan the code with it, or sign in from inside the app."
        ),
        "scan_link": "Sign in by scanning a code with your e-card app",
        "consent_heading": "Allow access",
        "consent_intro": "asks for:",
        "consent_approve": "Allow",
        "consent_deny": "Deny",
        "error_heading": "Cannot continue",
        "expired": (
            "This sign-in has expired or is not valid. Go back to the application and start again."
        ),
        "bad_request": (
            "The application sent an incomplete sign-in request. Go back to the application and"
            " sign in again; if that fails too, contact the application's support."
        ),
        "bad_form": "The page expired. Reload it and try again.",
        "too_many_requests": "Too many attempts. Wait a moment and try again.",
        "server_error": (
            "The service is unavailable; this is not your fault. Try again in a few minutes."
        ),
        "continue": "Continue",
        "logout_heading": "Sign out",
        "logout_confirm": (
            "Sign out of the e-SSC? Every application you signed in to with it will ask you to"
            " sign in again."
        ),
        "logout_from": "Asked by:",
        "logout_yes": "Sign out",
        "logout_done": "You are signed out. You can close this page.",
        "logout_bad_uri": (
            "The application gave a return address that is not registered, so you cannot be"
            " sent back to it. You are still signed in."
        ),
        "logout_bad_hint": (
            "This sign-out request is not valid: it does not show which application sent it."
            " You are still signed in."
        ),
        "request_id": "Request id (give it to support)",
    },
}


def text(locale: str) -> dict[str, str]:
    return TEXT.get(locale, TEXT["zh-CN"])


BEIJING = timezone(timedelta(hours=8))


def wrong_pin_message(t: dict[str, str], check: PinCheck) -> str:
    """What a refused PIN means for the citizen: tries left, the last-try warning, or until
    when the PIN is locked (Beijing time, the card's own clock)."""
    if check.locked:
        if check.locked_until is None:
            return t["signin_locked_later"]
        until = datetime.fromtimestamp(check.locked_until, BEIJING).strftime("%Y-%m-%d %H:%M")
        return t["signin_locked"].format(until=until)
    if check.tries_left == 1:
        return t["signin_last_try"]
    return t["signin_failed"].format(tries=check.tries_left)
