"""``/my/family`` (我的亲情服务): the principal signs in as for 我的授权, sees his relatives with
their powers and, in plain words, what they did for him, and ends a relationship with a
CSRF-checked form; the relative's delegated token stops at once. Hostile forms write nothing."""

from __future__ import annotations

import re
from typing import Any

from idp.provider import Provider
from idp.store.family import FamilyRelationship
from tests.family.helpers import PIN
from tests.family.helpers import PREFIX
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.helpers import bearer
from tests.family.test_flow import active_relationship
from tests.family.test_flow import introspect
from tests.my_authorizations.helpers import page_text
from tests.support import csrf_of


def signed_in(app: Any, who: Person, locale: str = "zh-CN") -> Any:
    browser = app.test_client()
    first = browser.get(f"/my/family?ui_locales={locale}")
    assert first.status_code == 303
    assert first.headers["Location"] == f"/my/signin?ui_locales={locale}&next=family"
    form = browser.get(first.headers["Location"])
    assert 'action="/my/signin?ui_locales=' + locale + '&amp;next=family"' in form.get_data(
        as_text=True
    )
    answer = browser.post(
        first.headers["Location"],
        data={
            "csrf_token": csrf_of(form.get_data(as_text=True)),
            "credential": who.card_number,
            "pin": PIN,
        },
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert answer.headers["Location"] == f"/my/family?ui_locales={locale}"
    return browser


def end(browser: Any, rel_id: str, csrf: str | None = None) -> Any:
    page = browser.get("/my/family")
    token = csrf if csrf is not None else csrf_of(page.get_data(as_text=True))
    return browser.post("/my/family/end", data={"csrf_token": token, "id": rel_id})


def state_of(provider: Provider, rel_id: str) -> str:
    with provider.db.read() as s:
        row = s.get(FamilyRelationship, rel_id)
        assert row is not None
        return row.state


def test_he_reads_what_she_did_and_ends_it(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    own, rel_id, ref = active_relationship(app, web, channel, daughter, father)
    delegated = channel.exchange(web, own, ref).json["access_token"]
    shown = web.post(
        PREFIX + "/acting/qr-codes", json={"purpose": "medical"}, headers=bearer(delegated)
    )
    assert shown.status_code == 201

    browser = signed_in(app, father)
    page = page_text(browser.get("/my/family"))
    assert "女儿 李小红" in page and "查看社保卡状态、出示医保码" in page
    assert re.search(r"女儿 李小红 于 \d+月\d+日 \d\d:\d\d 出示了您的医保码", page), page
    assert (
        "女儿 李小红 于" in page and "获得您的授权，可代您办理：查看社保卡状态、出示医保码" in page
    )
    assert father.id_number not in page and daughter.id_number not in page

    csrf = csrf_of(browser.get("/my/family").get_data(as_text=True))
    ended = end(browser, rel_id)
    assert ended.status_code == 303 and ended.headers["Location"].endswith("notice=ended")
    assert state_of(provider, rel_id) == "ended"
    assert introspect(web, channel, delegated) == {"active": False}
    after = page_text(browser.get(ended.headers["Location"]))
    assert "已结束" in after and re.search(
        r"您于 \d+月\d+日 \d\d:\d\d 结束了与女儿 李小红的亲情关系", after
    )
    again = end(browser, rel_id, csrf)  # the page has no form left: a second tab's
    assert again.status_code == 303 and again.headers["Location"].endswith("notice=already")


def test_english(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    own, _, ref = active_relationship(app, web, channel, daughter, father)
    delegated = channel.exchange(web, own, ref).json["access_token"]
    assert web.get(PREFIX + "/acting/card", headers=bearer(delegated)).status_code == 200
    browser = signed_in(app, father, "en")
    page = page_text(browser.get("/my/family?ui_locales=en"))
    assert "My family services" in page and "daughter 李小红" in page
    assert re.search(r"On \d+/\d+ \d\d:\d\d your daughter 李小红 checked your card's status", page)
    assert "view card status, show medical code" in page, page


def test_hostile_forms_end_nothing(
    app: Any, web: Any, provider: Provider, channel: Channel, father: Person, daughter: Person
) -> None:
    _, rel_id, _ = active_relationship(app, web, channel, daughter, father)
    browser = signed_in(app, father)
    assert end(browser, rel_id, csrf="forged").status_code == 400
    for bad in ("", "x" * 5000, "../../etc", "00000000-0000-4000-8000-000000000000"):
        assert end(browser, bad).status_code == 404, bad
    csrf = csrf_of(browser.get("/my/family").get_data(as_text=True))
    surrogate = browser.post(  # a lone surrogate, as its (invalid) UTF-8 bytes
        "/my/family/end",
        data=f"csrf_token={csrf}&id=%ED%A0%80".encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert surrogate.status_code == 404
    stranger = app.test_client()
    assert stranger.post("/my/family/end", data={"id": rel_id}).status_code == 303  # sign in
    assert state_of(provider, rel_id) == "active"
    # The agent, signed in herself, may end it too (either side, issue 11).
    hers = signed_in(app, daughter)
    assert "父亲 李建国" in page_text(hers.get("/my/family"))
    assert end(hers, rel_id).status_code == 303 and state_of(provider, rel_id) == "ended"
