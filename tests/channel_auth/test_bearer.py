"""The channel API's Bearer path (``idp.channel_auth.authenticate.from_bearer``) reads the header
through ``idp.oauth.rfc6750.presented_token``: a well-formed client credentials token is the
channel; a malformed one, whatever its shape, is the same RFC 7807 401 as an invalid one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ecard_helpers import add_channel
from tests.ecard_helpers import assert_problem
from tests.ecard_helpers import bearer

#: No such e-card: an authenticated channel gets 404, anyone else 401.
PATH = "/api/v1/ecards/ES-0000000000000000"


def query(web: Any, authorization: str) -> Any:
    return web.get(PATH, headers={"Authorization": authorization})


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer a b",
        'Bearer "x"',
        "bearer " + "令牌".encode().decode("latin-1"),
        "Bearer " + "a" * 5000,
    ],
    ids=["no-token", "empty", "space", "quoted", "non-ascii", "oversized"],
)
def test_a_malformed_bearer_token_is_an_unauthorized_problem(web: Any, header: str) -> None:
    body = assert_problem(query(web, header), 401, "unauthorized")
    assert body["reason"] == "invalid_token"


def test_the_scheme_is_case_insensitive(provider: Any, web: Any) -> None:
    token = bearer(web, add_channel(provider, "wechat"))["Authorization"].split(" ", 1)[1]
    assert query(web, f"bEaReR {token}").status_code == 404
