"""What the registry holds for each channel-native scheme: one ``Adapter``.

An adapter is everything the rest of essc-idp needs to know about a scheme, in one place: its
name (the ``ChannelRow.api_auth_scheme`` value, ``Verified.scheme``, the CLI's ``--scheme``), the
channel kind it belongs to, where its signature travels and whom a request claims to be, how to
build its ``Verifier`` (public keys only) and its ``Signer`` (a signing function), and the name and
serial form of essc-idp's own key for it in the key ring. Registry: ``channels.signing.registry``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from channels.kinds import ChannelKind
from channels.signing.channel_keys import ChannelKeys
from channels.signing.freshness import ReplayGuard
from channels.signing.scheme import ChannelRequest
from channels.signing.scheme import Clock
from channels.signing.scheme import OwnKey
from channels.signing.scheme import Signer
from channels.signing.scheme import Verifier

#: Where a scheme's signature travels: the ``Authorization`` header over the raw request, or
#: form fields (the Alipay gateway and UnionPay forms).
Carrier = Literal["header", "form"]


@dataclass(frozen=True)
class Adapter:
    """One native scheme.

    ``handles`` is a cheap shape test that routes a request to its scheme and never verifies;
    ``claimed_owner`` reads the owner id (``mchid``, ``app_id``, ``merId``) the request claims,
    ``malformed`` if it cannot. ``spellings`` are other ``api_auth_scheme`` values stored for this
    scheme before it had its name. ``platform_key`` names essc-idp's key in the key ring
    (purpose ``rsa:<platform_key>``; stored keys keep the name they were created under) and
    ``new_serial`` makes the serial a new one gets, in the form the channel's SDK expects.
    """

    name: str
    channel: ChannelKind
    carrier: Carrier
    handles: Callable[[ChannelRequest], bool]
    claimed_owner: Callable[[ChannelRequest], str]
    verifier: Callable[[ChannelKeys, ReplayGuard], Verifier]
    signer: Callable[[OwnKey, Clock], Signer]
    platform_key: str
    new_serial: Callable[[], str]
    spellings: frozenset[str] = frozenset()

    def known_as(self, value: str | None) -> bool:
        """Is ``value`` (an ``api_auth_scheme``, a ``--scheme``) this scheme's name or spelling?"""
        return value == self.name or value in self.spellings
