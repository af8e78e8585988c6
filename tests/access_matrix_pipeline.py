"""Access-matrix rows for the pipeline: deals on a customer, the deal page, the board, the
review sheet and A deals. The world's deal belongs to rep's customer (team sh1)."""

from tests.access_matrix import TO_LOGIN, Route, signed_in
from tests.access_matrix_customers import SEES_REPS_CUSTOMER, _with

# Reviews are a manager's (over the deal's owner) or an admin's; others who see it get 403.
REVIEWS_REPS_DEAL = {"anonymous": TO_LOGIN, "rep": 403, "rep2": 404, "manager": 303,
                     "region_manager": 303, "rep3": 404, "manager2": 404, "office": 403,
                     "admin": 303}


def _deal(w) -> str:
    return f"/deals/{w.deal}"


PIPELINE_ROUTES: list[Route] = [
    Route("GET", "/pipeline", signed_in(200)),
    Route("GET", "/pipeline/sheet", signed_in(200)),
    Route("GET", "/pipeline/a-deals", signed_in(200)),
    Route("GET", "/customers/<int:customer_id>/deals/new", SEES_REPS_CUSTOMER,
          url=lambda w: f"/customers/{w.customers.rep}/deals/new"),
    Route("POST", "/customers/<int:customer_id>/deals", _with(SEES_REPS_CUSTOMER, 303),
          url=lambda w: f"/customers/{w.customers.rep}/deals",
          data=lambda w: {"title": "第二台设备", "grade": "B", "stage": "inquiry"}),
    Route("GET", "/deals/<int:deal_id>", SEES_REPS_CUSTOMER, url=_deal),
    Route("GET", "/deals/<int:deal_id>/edit", SEES_REPS_CUSTOMER,
          url=lambda w: f"{_deal(w)}/edit"),
    Route("POST", "/deals/<int:deal_id>", _with(SEES_REPS_CUSTOMER, 303), url=_deal,
          data=lambda w: {"title": "年度设备采购", "grade": "A", "stage": "intent",
                          "amount": "120000", "version": str(w.deal_version())}),
    Route("POST", "/deals/<int:deal_id>/move", _with(SEES_REPS_CUSTOMER, 303),
          url=lambda w: f"{_deal(w)}/move",
          data=lambda w: {"stage": "negotiation", "version": str(w.deal_version()),
                          "back": "/pipeline"}),
    Route("POST", "/deals/<int:deal_id>/review", REVIEWS_REPS_DEAL,
          url=lambda w: f"{_deal(w)}/review",
          data=lambda w: {"note": "下周带上技术一起去", "back": "/pipeline/sheet"}),
]
