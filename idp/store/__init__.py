"""Storage: SQLAlchemy 2.0 models and the repositories that implement the protocol Protocols."""

from idp.store.audit_chain import AuditChainHead
from idp.store.audit_chain import AuditCheckpoint
from idp.store.base import Base
from idp.store.channels import ChannelRow
from idp.store.ecards import CardEvent
from idp.store.ecards import ECard
from idp.store.ecards import OutboxMessage
from idp.store.family import FamilyRelationship
from idp.store.family import FamilySlots
from idp.store.grants import AuthorizationCode
from idp.store.grants import BrowserSession
from idp.store.grants import Consent
from idp.store.grants import Grant
from idp.store.grants import Interaction
from idp.store.grants import RefreshToken
from idp.store.grants import SessionClient
from idp.store.payments import Payment
from idp.store.payments import PaymentDailySpend
from idp.store.payments import PaymentRefund
from idp.store.payments import QrRedemption
from idp.store.pension import PensionCertification
from idp.store.people import Person
from idp.store.people import PinAttempts
from idp.store.people import SocialSecurityCard
from idp.store.preferences import CardholderPreference
from idp.store.pushed_requests import PushedRequest
from idp.store.qr import QrCode
from idp.store.scan_signin import ScanRequest
from idp.store.security import AuditEvent
from idp.store.security import DataKeyRow
from idp.store.security import ExpiringKey
from idp.store.security import KeyRingMetaRow
from idp.store.security import SigningKeyRow

__all__ = [
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "AuthorizationCode",
    "Base",
    "BrowserSession",
    "CardEvent",
    "CardholderPreference",
    "ChannelRow",
    "Consent",
    "DataKeyRow",
    "ECard",
    "ExpiringKey",
    "FamilyRelationship",
    "FamilySlots",
    "Grant",
    "Interaction",
    "KeyRingMetaRow",
    "OutboxMessage",
    "Payment",
    "PaymentDailySpend",
    "PaymentRefund",
    "PensionCertification",
    "Person",
    "PinAttempts",
    "PushedRequest",
    "QrCode",
    "QrRedemption",
    "RefreshToken",
    "ScanRequest",
    "SessionClient",
    "SigningKeyRow",
    "SocialSecurityCard",
]
