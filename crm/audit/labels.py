"""What each audit action is called on the audit trail."""

from flask_babel import lazy_gettext as _l

from crm.audit.models import AuditAction

ACTION_LABELS = {
    AuditAction.VIEW: _l("Viewed the card"),
    AuditAction.CREATE: _l("Created"),
    AuditAction.EDIT: _l("Changed"),
    AuditAction.EXPORT: _l("Exported"),
    AuditAction.IMPORT: _l("Imported"),
    AuditAction.TRANSFER: _l("Transferred"),
    AuditAction.ERASE: _l("Erased"),
    AuditAction.VIEW_CONTACT: _l("Viewed contact details"),
    AuditAction.PLAY: _l("Played a recording"),
    AuditAction.DOWNLOAD: _l("Downloaded a recording"),
    AuditAction.DATA_EXPORT: _l("Customer data export"),
    AuditAction.CONSENT: _l("Consent changed"),
    AuditAction.SIGN_IN: _l("Signed in"),
    AuditAction.SIGN_IN_FAILED: _l("Failed sign-in"),
    AuditAction.ROLE_CHANGE: _l("Role changed"),
    AuditAction.TEAM_CHANGE: _l("Team changed"),
    AuditAction.PURGE: _l("Retention purge"),
    AuditAction.REQUEST: _l("Data request"),
}
