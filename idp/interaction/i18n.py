"""Page text in Chinese (default) and English (``ui_locales=en``). Never in OAuth errors.

The words live in gettext catalogues (``idp/translations``, docs/pages.md): the msgids are the
zh-CN texts, marked here with ``N_`` for ``pybabel extract``, and pages still read them by
key (``t.signin_heading``) from the dict ``text(locale)`` builds from the locale's catalogue."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from functools import cache
from pathlib import Path

from babel.support import NullTranslations
from babel.support import Translations
from flask import g
from flask import has_request_context
from flask import request

from idp.cardholders.service import PinCheck
from idp.oauth.authorize import first_ui_locale

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
DEFAULT_LOCALE = "zh-CN"
#: ui_locales values (BCP 47) to catalogue names (POSIX, as Babel spells them).
CATALOGUES = {"zh-CN": "zh_CN", "en": "en"}


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "mark, translate later")
    """Marks a msgid for ``pybabel extract``; the catalogue translates it when a page is built."""
    return message


def Np_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802
    """Marks a plural msgid pair for ``pybabel extract`` (``-k Np_:1,2``)."""
    return singular, plural


TEXT: dict[str, str] = {
    "title": N_("电子社保卡 统一身份认证"),
    "signin_heading": N_("登录"),
    "signin_to": N_("登录以继续访问"),
    "signin_again": N_("您已登录，但为了保障安全，此网站要求您重新输入密码。"),
    "credential": N_("社保卡号或公民身份号码"),
    "pin": N_("电子社保卡密码（6位数字）"),
    "signin_button": N_("登录"),
    "signin_last_try": N_(
        "卡号、身份号码或密码不正确。这是最后一次机会：再输错一次，密码将被锁定。"
    ),
    "signin_locked": N_(
        "密码错误次数过多，已被锁定。请在 %(until)s（北京时间）之后再试，或到社保经办机构重置密码。"
    ),
    "signin_locked_later": N_("密码错误次数过多，已被锁定。请稍后再试，或到社保经办机构重置密码。"),
    "card_unusable": N_(
        "您的社保卡当前不可用（已挂失或注销）。请到社保经办机构或通过电子社保卡应用办理解挂或补卡。"
    ),
    "step_up_app": N_(
        "此网站需要更高级别的身份核验，无法仅用密码登录。"
        "请打开您的电子社保卡应用扫码登录，或在应用内直接登录。"
    ),
    "scan_link": N_("用电子社保卡应用扫码登录"),
    "consent_heading": N_("授权确认"),
    "consent_intro": N_("请求获取您的以下信息："),
    "consent_approve": N_("同意"),
    "consent_deny": N_("拒绝"),
    "error_heading": N_("无法继续"),
    "expired": N_("本次登录已过期或无效，请返回应用重新发起。"),
    "bad_request": N_(
        "应用发来的登录请求不完整，无法继续。"
        "请返回应用重新点击登录；如果仍然不行，请联系该应用的客服。"
    ),
    "bad_form": N_("页面已过期，请刷新后重试。"),
    "too_many_requests": N_("请求过于频繁，请稍后再试。"),
    "server_error": N_("服务暂时不可用，这不是您的问题。请过几分钟再试。"),
    "continue": N_("继续"),
    "form_post_noscript": N_("您的浏览器没有运行脚本。请点击“继续”前往网站。"),
    "logout_heading": N_("退出登录"),
    "logout_confirm": N_(
        "确定要退出电子社保卡登录吗？退出后，通过它登录的各个应用都需要重新登录。"
    ),
    "logout_from": N_("发起退出的应用："),
    "logout_yes": N_("退出"),
    "logout_done": N_("您已退出登录。可以关闭此页面。"),
    "logout_bad_uri": N_("应用给出的返回地址未登记，无法返回该应用。您的登录状态未改变。"),
    "logout_bad_hint": N_("退出请求无效，无法确认是哪个应用发起的。您的登录状态未改变。"),
    "request_id": N_("请求编号（联系客服时提供）"),
    "unknown_app": N_("这个网站或应用没有在电子社保卡登记，不能用电子社保卡登录。"),
    "unknown_return": N_("登录后要返回的网址没有在电子社保卡登记。为了您的安全，登录已停止。"),
    "request_used": N_("这个登录链接已经用过或已经过期。"),
    "next_step_heading": N_("您可以这样做"),
    "cancel_signin": N_("取消，返回网站"),
    "logout_stay": N_("不退出，保持登录"),
    "logout_stayed": N_("您仍处于登录状态。可以关闭此页面。"),
    "language_switch": N_("English"),
}

#: What the citizen can do next, per error page (issue 10 item 7: what happened and what to
#: do next, in plain words). An error without an entry here says only what happened.
NEXT_STEP: dict[str, str] = {
    "expired": N_("请回到您要访问的网站或应用，重新点击“登录”。"),
    "bad_request": N_(
        "这不是您的问题。请回到该网站重新点击“登录”；如果仍然不行，请联系该网站的客服，"
        "并告诉他们下面的请求编号。"
    ),
    "unknown_app": N_(
        "请不要在这里输入密码。请从该网站的官方入口进入；如果您是从短信、聊天里的链接或别人发来的"
        "二维码进入的，它可能是仿冒网站。"
    ),
    "unknown_return": N_(
        "请不要在这里输入密码。请从该网站的官方入口进入；如果您是从短信、聊天里的链接或别人发来的"
        "二维码进入的，它可能是仿冒网站。"
    ),
    "request_used": N_("每个登录链接只能用一次。请回到网站重新点击“登录”。"),
    "bad_form": N_("请回到上一页，刷新后再试一次。"),
    "too_many_requests": N_("请等一分钟后再试。"),
    "server_error": N_("请过几分钟再试；如果一直这样，请联系客服并告诉他们下面的请求编号。"),
    "logout_bad_uri": N_("您可以关闭此页面，回到该应用继续使用。"),
    "logout_bad_hint": N_("您可以关闭此页面，回到该应用继续使用。"),
}


#: Plain-language labels for the consent page and 我的授权, per scope, in the consent order
#: (who you are first, then what is released; idp.oidc.claims says what each scope releases).
SCOPE_TEXT: dict[str, str] = {
    "openid": N_("确认您的身份（匿名标识）"),
    "profile": N_("您的姓名"),
    "essc.card": N_("社保卡卡号（部分隐藏）、卡状态和参保地"),
    "essc.idnumber": N_("您的完整公民身份号码"),
}

#: The wrong-PIN count: one form in Chinese, singular and plural in English (ngettext).
TRIES_LEFT = Np_(
    "卡号、身份号码或密码不正确。还可以再试 %(num)d 次，之后密码将被锁定。",
    "卡号、身份号码或密码不正确。还可以再试 %(num)d 次，之后密码将被锁定。",
)


@cache
def catalogue(locale: str) -> NullTranslations:
    """The compiled catalogue of ``locale``; unknown locales get zh-CN's (the default)."""
    name = CATALOGUES.get(locale, CATALOGUES[DEFAULT_LOCALE])
    return Translations.load(str(TRANSLATIONS), [name])


def translated(locale: str, *tables: Mapping[str, str]) -> dict[str, str]:
    """Key to translated text for one page; later tables' keys win. The page's locale is
    remembered for the request so that flask-babel's ``_()`` in its template agrees."""
    if has_request_context():
        g.page_locale = locale
    gettext = catalogue(locale).gettext
    return {key: gettext(msgid) for table in tables for key, msgid in table.items()}


def text(locale: str) -> dict[str, str]:
    return translated(locale, TEXT)


def next_step(locale: str, key: str) -> str | None:
    """What to do after the error page ``key``, in the page's language; None if nothing."""
    msgid = NEXT_STEP.get(key)
    return catalogue(locale).gettext(msgid) if msgid else None


def scope_label(locale: str, scope: str) -> str:
    """A scope in plain words; a scope without a label shows as itself."""
    msgid = SCOPE_TEXT.get(scope)
    return catalogue(locale).gettext(msgid) if msgid else scope


def select_locale() -> str:
    """flask-babel's locale_selector: the locale a page chose (an interaction keeps the
    ui_locales of its authorization request), else this request's ui_locales; zh-CN by default."""
    chosen = g.get("page_locale") or first_ui_locale(request.values.get("ui_locales"))
    return CATALOGUES.get(chosen, CATALOGUES[DEFAULT_LOCALE])


BEIJING = timezone(timedelta(hours=8))


def wrong_pin_message(locale: str, check: PinCheck) -> str:
    """What a refused PIN means for the citizen: tries left, the last-try warning, or until
    when the PIN is locked (Beijing time, the card's own clock)."""
    words = catalogue(locale)
    if check.locked:
        if check.locked_until is None:
            return words.gettext(TEXT["signin_locked_later"])
        until = datetime.fromtimestamp(check.locked_until, BEIJING).strftime("%Y-%m-%d %H:%M")
        return words.gettext(TEXT["signin_locked"]) % {"until": until}
    if check.tries_left == 1:
        return words.gettext(TEXT["signin_last_try"])
    return words.ngettext(*TRIES_LEFT, check.tries_left) % {"num": check.tries_left}
