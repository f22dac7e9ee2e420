"""What relatives did for a principal, in plain language, read from the audit trail (issue 11:
"是我查询 / 是我操作" made real). Each line names the relative by masked name and role, never an
ID number."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.family.rules import CST
from idp.family.rules import agent_role
from idp.store.people import Person
from idp.store.security import AuditEvent

LIMIT = 100
POWER_NAMES = {
    "view_card": "查看社保卡状态",
    "show_identity_code": "出示身份码",
    "show_medical_code": "出示医保码",
    "pension_certification": "养老待遇资格认证",
    "query_benefits": "查询待遇和缴费",
    "pay": "支付",
}
CODE_NAMES = {"identity": "身份码", "medical": "医保码", "payment": "支付码"}
ROLE_NAMES = {"spouse": "配偶", "child": "子女", "parent": "父母或监护人", "other": "亲友"}
_SENTENCES = {
    "family.requested": "{who}申请代你办理：{powers}",
    "family.consented": "{who}获得你的授权，可代你办理：{powers}",
    "family.token_exchanged": "{who}开始代你办理：{powers}",
    "family.card_viewed": "{who}代你查看了社保卡状态",
    "family.code_shown": "{who}代你出示了{code}",
    "family.benefits_queried": "{who}代你查询了待遇和缴费记录",
    "family.ended": "{who}与你的亲情关系已结束",
    "family.expired": "{who}与你的亲情关系已到期",
    "pension.certified": "{who}代你完成了养老待遇资格认证，有效期至{until}",
}
EVENTS = tuple(_SENTENCES)


def mask_name(name: str) -> str:
    """``张*``, ``欧**``: the family name's first character only."""
    return name[:1] + "*" * (len(name) - 1) if len(name) > 1 else "*"


def history(session: Session, principal_id: str) -> list[dict[str, Any]]:
    """The newest ``LIMIT`` family events recorded for the principal, newest first."""
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.person_id == principal_id, AuditEvent.event.in_(EVENTS))
        .order_by(AuditEvent.id.desc())
        .limit(LIMIT)
    ).all()
    agent_ids = {str(r.detail.get("agent", "")) for r in rows}
    names = {p.id: p.name for p in session.scalars(select(Person).where(Person.id.in_(agent_ids)))}
    return [_line(row, names) for row in rows]


def _date(at: Any) -> str:
    return dt.datetime.fromtimestamp(at, CST).strftime("%Y-%m-%d") if isinstance(at, int) else ""


def _line(row: AuditEvent, names: dict[str, str]) -> dict[str, Any]:
    detail = row.detail or {}
    role = agent_role(str(detail.get("relationship", "other")))
    who = f"{mask_name(names.get(str(detail.get('agent')), ''))}（{ROLE_NAMES[role]}）"
    powers = "、".join(POWER_NAMES.get(str(p), str(p)) for p in detail.get("powers", []))
    until = _date(detail.get("valid_until"))
    if row.event == "family.ended" and detail.get("by") == "principal":
        text = f"你结束了与{who}的亲情关系"
    elif row.event == "pension.certified" and "agent" not in detail:
        text = f"你本人完成了养老待遇资格认证，有效期至{until}"
    else:
        code = CODE_NAMES.get(str(detail.get("purpose")), "二维码")
        text = _SENTENCES[row.event].format(who=who, powers=powers or "无", code=code, until=until)
    when = dt.datetime.fromtimestamp(row.at, CST)
    return {
        "at": row.at,
        "time": when.strftime("%Y-%m-%d %H:%M"),
        "event": row.event,
        "relationship_id": detail.get("relationship_id"),
        "agent": (
            {"name": mask_name(names.get(str(detail.get("agent")), "")), "role": role}
            if "agent" in detail
            else None  # the principal's own certification
        ),
        "text": text,
    }
