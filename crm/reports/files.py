"""A report's figures as an XLSX workbook (one sheet per section, number and date formats,
frozen headers) and as CSV, both from the data kept on the run."""

import csv
import io
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _

from crm.metrics.summary import metric_label, metric_unit
from crm.pipeline.models import STAGE_LABELS, Stage

AMOUNT_FORMAT = '#,##0.00'
COUNT_FORMAT = '0'
SCORE_FORMAT = '0.0'
SHARE_FORMAT = '0.0%'
DATE_FORMAT = 'yyyy-mm-dd'
# A rate is kept in per cent points (75.0), shown with its sign.
PERCENT_FORMAT = '0.0"%"'
FORMATS = {"amount": AMOUNT_FORMAT, "count": COUNT_FORMAT, "score": SCORE_FORMAT,
           "percent": PERCENT_FORMAT}


def _value(raw, unit: str):
    if raw is None:
        return None
    if unit == "amount":
        return Decimal(str(raw))
    if unit in ("score", "percent"):
        return float(raw)
    return int(raw)


def _sheet(workbook, title: str, header: list[str], rows: list[list], formats: list):
    from openpyxl.styles import Font

    sheet = workbook.create_sheet(title[:31])
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
        for cell, number_format in zip(sheet[sheet.max_row], formats, strict=False):
            if number_format:
                cell.number_format = number_format
    sheet.freeze_panes = "A2"
    for n, heading in enumerate(header, 1):
        sheet.column_dimensions[sheet.cell(1, n).column_letter].width = max(12, len(heading) + 4)
    return sheet


def workbook_bytes(data: dict, title: str) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    period = data["period"]
    summary_rows = [[_("Team"), title, None],
                    [_("From"), date.fromisoformat(period["start"]), None],
                    [_("To"), date.fromisoformat(period["end"]), None],
                    [_("Time zone"), period["zone"], None]]
    sheet = _sheet(workbook, _("Totals"), [_("Figure"), _("Value"), _("Key")], summary_rows,
                   [None, None, None])
    for row in (3, 4):
        sheet.cell(row, 2).number_format = DATE_FORMAT
    # The period's end is exclusive in the data; the sheet says the last day.
    sheet.cell(4, 2).value = date.fromordinal(date.fromisoformat(period["end"]).toordinal() - 1)
    for name, raw in data["totals"].items():
        unit = metric_unit(name)
        sheet.append([metric_label(name), _value(raw, unit), name])
        sheet.cell(sheet.max_row, 2).number_format = FORMATS[unit]

    _sheet(workbook, _("Funnel"), [_("Stage"), _("Deals"), _("Amount (¥)"), _("Went on")],
           [[str(STAGE_LABELS[Stage(step["stage"])]), step["count"],
             Decimal(step["amount"]), step["conversion"]] for step in data["funnel"]],
           [None, COUNT_FORMAT, AMOUNT_FORMAT, SHARE_FORMAT])

    names = list(data["trends"])
    days = [point["day"] for point in data["trends"][names[0]]] if names else []
    _sheet(workbook, _("Per day"), [_("Day")] + [metric_label(n) for n in names],
           [[date.fromisoformat(day)] + [data["trends"][n][i]["value"] for n in names]
            for i, day in enumerate(days)],
           [DATE_FORMAT] + [COUNT_FORMAT] * len(names))

    metrics = data["per_person_metrics"]
    _sheet(workbook, _("Per person"), [_("Name")] + [metric_label(n) for n in metrics],
           [[row["name"]] + [_value(row[n], metric_unit(n)) for n in metrics]
            for row in data["per_person"]],
           [None] + [FORMATS[metric_unit(n)] for n in metrics])

    coverage = data["coverage"]
    _sheet(workbook, _("Review coverage"),
           [_("Recordings"), _("Recordings reviewed"), _("Share")],
           [[coverage["recordings"], coverage["reviewed"], coverage["share"]]],
           [COUNT_FORMAT, COUNT_FORMAT, SHARE_FORMAT])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_text(data: dict) -> str:
    """The per-person table with a team total row, then every total as label and value."""
    out = io.StringIO()
    writer = csv.writer(out)
    metrics = data["per_person_metrics"]
    writer.writerow([_("Name")] + [metric_label(n) for n in metrics])
    for row in data["per_person"]:
        writer.writerow([row["name"]] + ["" if row[n] is None else row[n] for n in metrics])
    writer.writerow([_("Total")] + ["" if data["totals"].get(n) is None else data["totals"][n]
                                    for n in metrics])
    writer.writerow([])
    writer.writerow([_("Figure"), _("Value")])
    for name, value in data["totals"].items():
        writer.writerow([metric_label(name), "" if value is None else value])
    return out.getvalue()
