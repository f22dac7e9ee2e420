"""Page text in Chinese (default) and English (``ui_locales=en``). Never in OAuth errors."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "电子社保卡 统一身份认证",
        "signin_heading": "登录",
        "signin_to": "登录以继续访问",
        "credential": "社保卡号或公民身份号码",
        "pin": "电子社保卡密码（6位数字）",
        "signin_button": "登录",
        "signin_failed": "卡号、身份号码或密码不正确。",
        "signin_locked": "密码错误次数过多，请15分钟后再试。",
        "card_unusable": "您的社保卡当前不可用（挂失或注销）。",
        "step_up_app": (
            "此网站需要更高级别的身份核验，无法仅用密码登录。"
            "请打开您的电子社保卡应用扫码登录，或在应用内直接登录。"
        ),
        "consent_heading": "授权确认",
        "consent_intro": "以下应用请求获取您的信息：",
        "consent_approve": "同意",
        "consent_deny": "拒绝",
        "error_heading": "无法继续",
        "expired": "本次登录已过期或无效，请返回应用重新发起。",
        "bad_request": "请求无效。",
        "bad_form": "页面已过期，请刷新后重试。",
        "server_error": "服务暂时不可用，请稍后再试。",
        "continue": "继续",
        "request_id": "请求编号",
    },
    "en": {
        "title": "e-SSC sign-in",
        "signin_heading": "Sign in",
        "signin_to": "Sign in to continue to",
        "credential": "Card number or citizen ID number",
        "pin": "e-card PIN (6 digits)",
        "signin_button": "Sign in",
        "signin_failed": "The card number, ID number or PIN is not right.",
        "signin_locked": "Too many wrong PINs. Try again in 15 minutes.",
        "card_unusable": "Your card cannot be used now (suspended or cancelled).",
        "step_up_app": (
            "This site needs a stronger check of who you are than a PIN. Sign in through"
            " your e-card app: scan the code with it, or sign in from inside the app."
        ),
        "consent_heading": "Allow access",
        "consent_intro": "This application asks for:",
        "consent_approve": "Allow",
        "consent_deny": "Deny",
        "error_heading": "Cannot continue",
        "expired": (
            "This sign-in has expired or is not valid. Go back to the application and start again."
        ),
        "bad_request": "The request is not valid.",
        "bad_form": "The page expired. Reload it and try again.",
        "server_error": "The service is unavailable. Try again later.",
        "continue": "Continue",
        "request_id": "Request id",
    },
}


def text(locale: str) -> dict[str, str]:
    return TEXT.get(locale, TEXT["zh-CN"])
