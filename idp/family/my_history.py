"""The principal's family history as the citizen reads it on ``/my/family`` (issue 11: "the
principal sees what each relative did for them, in plain language"): one sentence per audit
event, naming the relative by their role and name ("女儿 张小红 于 12月2日 10:05 出示了您的医保码").

The citizen is signed in as the principal, so the relative's full name is shown (the family
API, read by channels, masks it: ``idp.family.history``). Words are flask-babel messages whose
ids are the zh-CN text (``make messages``); never an ID number.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.family.history import LIMIT
from idp.family.rules import CST
from idp.family.rules import agent_role
from idp.interaction.i18n import N_
from idp.store.people import Person
from idp.store.security import AuditEvent

POWER_TEXT = {
    "view_card": N_("查看社保卡状态"),
    "show_identity_code": N_("出示身份码"),
    "show_medical_code": N_("出示医保码"),
    "pension_certification": N_("养老待遇资格认证"),
    "query_benefits": N_("查询待遇和缴费"),
    "pay": N_("支付"),
}
CODE_TEXT = {"identity": N_("身份码"), "medical": N_("医保码"), "payment": N_("支付码")}
#: (role, sex) → word; sex from the 17th character of the ID number (GB 11643: odd is male).
ROLE_TEXT = {
    ("child", "f"): N_("女儿"),
    ("child", "m"): N_("儿子"),
    ("child", None): N_("子女"),
    ("spouse", "f"): N_("妻子"),
    ("spouse", "m"): N_("丈夫"),
    ("spouse", None): N_("配偶"),
    ("parent", "f"): N_("母亲"),
    ("parent", "m"): N_("父亲"),
    ("parent", None): N_("父母"),
}
OTHER = N_("亲友")
SEPARATOR = N_("、")
SENTENCES = {
    "family.requested": N_("%(who)s 于 %(when)s 申请代您办理：%(powers)s"),
    "family.consented": N_("%(who)s 于 %(when)s 获得您的授权，可代您办理：%(powers)s"),
    "family.card_viewed": N_("%(who)s 于 %(when)s 查看了您的社保卡状态"),
    "family.code_shown": N_("%(who)s 于 %(when)s 出示了您的%(code)s"),
    "family.benefits_queried": N_("%(who)s 于 %(when)s 查询了您的待遇和缴费记录"),
    "family.ended": N_("%(who)s 于 %(when)s 结束了代办关系"),
    "family.expired": N_("%(who)s 的代办关系于 %(when)s 到期"),
    "pension.certified": N_("%(who)s 于 %(when)s 为您完成了养老待遇资格认证，有效期至 %(until)s"),
}
ENDED_BY_YOU = N_("您于 %(when)s 结束了与%(who)s的亲情关系")
ENDED_BY_OPERATOR = N_("经办人员于 %(when)s 结束了您与%(who)s的亲情关系")
CERTIFIED_BY_YOU = N_("您于 %(when)s 本人完成了养老待遇资格认证，有效期至 %(until)s")
WHEN = N_("%(month)d月%(day)d日 %(time)s")
DATE = N_("%(year)d年%(month)d月%(day)d日")


def _t(msgid: str, **values: Any) -> str:
    """flask-babel's ``gettext`` (the request's locale), typed."""
    return str(gettext(msgid, **values))


def sex_of(masked_id_number: str) -> str | None:
    """``f`` or ``m`` from the masked number's 17th character, when the mask keeps it."""
    digit = masked_id_number[16:17]
    return ("m" if int(digit) % 2 else "f") if digit.isdigit() else None


def role_words(relationship: str, person: Person | None) -> str:
    role = agent_role(relationship)
    sex = sex_of(person.id_number_masked) if person is not None else None
    return _t(ROLE_TEXT.get((role, sex), ROLE_TEXT.get((role, None), OTHER)))


def when(at: int) -> str:
    moment = dt.datetime.fromtimestamp(at, CST)
    return _t(WHEN, month=moment.month, day=moment.day, time=moment.strftime("%H:%M"))


def date(at: Any) -> str:
    if not isinstance(at, int):
        return ""
    day = dt.datetime.fromtimestamp(at, CST)
    return _t(DATE, year=day.year, month=day.month, day=day.day)


def powers_words(powers: Any) -> str:
    names = [_t(POWER_TEXT[p]) for p in powers or [] if p in POWER_TEXT]
    return _t(SEPARATOR).join(names)


def lines(session: Session, principal_id: str) -> list[dict[str, Any]]:
    """The principal's newest family events, newest first, each as one sentence."""
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.person_id == principal_id, AuditEvent.event.in_(tuple(SENTENCES)))
        .order_by(AuditEvent.id.desc())
        .limit(LIMIT)
    ).all()
    agent_ids = {str(r.detail.get("agent")) for r in rows if r.detail and "agent" in r.detail}
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(agent_ids)))}
    return [{"at": row.at, "event": row.event, "text": _sentence(row, people)} for row in rows]


def _sentence(row: AuditEvent, people: dict[str, Person]) -> str:
    detail = row.detail or {}
    agent = people.get(str(detail.get("agent")))
    role = role_words(str(detail.get("relationship", "other")), agent)
    who = f"{role} {agent.name if agent else ''}"
    values = {
        "who": who.strip(),
        "when": when(row.at),
        "powers": powers_words(detail.get("powers")),
        "code": _t(CODE_TEXT.get(str(detail.get("purpose")), CODE_TEXT["medical"])),
        "until": date(detail.get("valid_until")),
    }
    if row.event == "family.ended" and detail.get("by") in ("principal", "operator"):
        sentence = ENDED_BY_YOU if detail["by"] == "principal" else ENDED_BY_OPERATOR
    elif row.event == "pension.certified" and "agent" not in detail:
        sentence = CERTIFIED_BY_YOU
    else:
        sentence = SENTENCES[row.event]
    return _t(sentence, **values)
