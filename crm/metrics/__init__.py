"""Every count and amount per person, team tree and period, in the team's time zone.

A metric is one registered definition (`Metric`: name, label, unit and the query that counts
it per person). Goals, the dashboard, the review sheet's summary and the reports all read
`compute()`, so a number is the same on every page. `compute()` sends ONE statement however
many metrics are asked for and however much data there is: each metric's grouped SELECT is
joined to the others by UNION ALL.

To add a metric (satisfaction, once surveys exist), register it where its data lives:

    from crm.metrics import Metric, register, grouped

    register(Metric("satisfaction", _l("Satisfaction"), "score",
                    lambda w, by_day: grouped(w, Survey.rep_id, Survey.answered_at,
                                              func.sum(Survey.score), by_day=by_day,
                                              weight=func.count(Survey.score))))
"""

# The built-in metrics register themselves on import.
from crm.metrics import definitions  # noqa: E402, F401
from crm.metrics.registry import (  # noqa: F401
    METRICS,
    Figures,
    Metric,
    Window,
    compute,
    compute_many,
    grouped,
    metric_choices,
    register,
)
