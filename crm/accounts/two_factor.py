"""Two-factor sign-in: a TOTP authenticator app (RFC 6238, pyotp) and one-time recovery codes.

Enrolment shows a QR code (SVG, segno) of the otpauth:// address and the secret as text; it
takes effect once a code from the app is typed back. Ten recovery codes are shown once, stored
hashed, and each works once. An administrator may require it of managers and administrators
(SecuritySettings.two_factor_for_leads): they are sent to enrol right after signing in.
"""

import hmac
import re
import secrets
import time

import pyotp
import segno
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from werkzeug.security import check_password_hash, generate_password_hash

from crm import access
from crm.accounts.models import User
from crm.audit.log import record
from crm.audit.models import AuditAction
from crm.clock import utcnow
from crm.errors import DomainError
from crm.extensions import db
from crm.privacy.models import RecoveryCode, SecuritySettings

ISSUER = "Field CRM"
RECOVERY_CODES = 10
# Random codes of 50 bits: a quick hash suffices (a password's slow one would make checking
# ten of them take seconds).
RECOVERY_HASH = "pbkdf2:sha256:20000"
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The QR code as an SVG data URI (the page's CSP allows data: images)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _digits(code: str | None) -> str:
    return re.sub(r"[\s-]", "", code or "")


def matching_step(secret: str, code: str | None, after: int | None = None) -> int | None:
    """The 30-second step whose code this is: the current one, or the one before or after
    (clock drift); only steps later than `after`, so a code seen once cannot be replayed."""
    digits = _digits(code)
    if not re.fullmatch(r"\d{6}", digits):
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // totp.interval
    for step in (now - 1, now, now + 1):
        if (after is None or step > after) and hmac.compare_digest(
                totp.at(step * totp.interval), digits):
            return step
    return None


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["-".join("".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(5))
                      for _ in range(2)) for _ in range(RECOVERY_CODES)]
    db.session.add_all([RecoveryCode(user_id=user.id,
                                     code_hash=generate_password_hash(code, RECOVERY_HASH))
                        for code in codes])
    return codes


def enable(user: User, secret: str, code: str) -> list[str]:
    """Confirm enrolment with a code from the app; returns the recovery codes to show once."""
    step = matching_step(secret, code)
    if step is None:
        raise DomainError(_l("That code is not right. Type the 6 digits your app shows now."),
                          field="code")
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = secret, utcnow(), step
    record(AuditAction.EDIT, user.id, None, section="two_factor", step="enabled")
    return _new_recovery_codes(user)


def disable(user: User, password: str) -> None:
    if required_for(user):
        raise DomainError(_l("Your role must sign in with a second factor."))
    if not check_password_hash(user.password_hash, password or ""):
        raise DomainError(_l("This is not your current password."), field="password")
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = None, None, None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    record(AuditAction.EDIT, user.id, None, section="two_factor", step="disabled")


def _use_recovery_code(user: User, code: str) -> bool:
    typed = (code or "").strip().lower()
    if not re.fullmatch(r"[a-z0-9]{5}-[a-z0-9]{5}", typed):
        return False
    for row in db.session.scalars(select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))):
        if check_password_hash(row.code_hash, typed):
            row.used_at = utcnow()
            return True
    return False


def second_factor_passes(user: User, code: str) -> bool:
    """A fresh TOTP code (each step's code works once) or an unused recovery code."""
    if not user.totp_secret:
        return False
    step = matching_step(user.totp_secret, code, after=user.totp_last_step)
    if step is not None:
        user.totp_last_step = step
        return True
    return _use_recovery_code(user, code)


def settings() -> SecuritySettings:
    return db.session.get(SecuritySettings, 1)


def required_for(user: User) -> bool:
    return access.may_need_two_factor(user) and settings().two_factor_for_leads


def set_requirement(required: bool, by: User) -> None:
    row = settings()
    row.two_factor_for_leads = required
    row.updated_by_id, row.updated_at = by.id, utcnow()
    record(AuditAction.EDIT, by.id, None, section="security", two_factor_for_leads=required)
