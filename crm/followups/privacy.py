"""After-sales revisits in a customer's export. They hold no free text (a reason code, dates,
the visit that fulfilled them), so erasure leaves them: the follow-ups they point at are
cleared by crm.privacy.erasure itself. Registered with crm.privacy on import."""

from sqlalchemy import select

from crm.followups.models import Revisit
from crm.privacy import export


def _revisits(cid: int) -> list[dict]:
    rows = export.rows(select(Revisit).where(Revisit.customer_id == cid)
                       .order_by(Revisit.due_on, Revisit.id))
    for row in rows:
        row.pop("plan_key", None)  # an internal dedupe key
    return rows


export.SECTIONS.append(("revisits", _revisits))
