"""Bar charts of a number per day, drawn on the server as SVG (no script, no inline style:
the CSP allows them as they are). Each chart is read out as a table beside it."""

from datetime import date

WIDTH, HEIGHT, PAD, AXIS = 320, 120, 4, 14


def bar_chart(points: list[dict]) -> dict:
    """`points` as summarise() gives them ({"day", "value", "drought"?}); returns what the
    template draws: the bars with their coordinates and the scale's top."""
    values = [float(p["value"] or 0) for p in points]
    top = max(values + [1.0])
    count = max(len(points), 1)
    slot = (WIDTH - 2 * PAD) / count
    usable = HEIGHT - AXIS - PAD
    bars = []
    for n, (point, value) in enumerate(zip(points, values, strict=True)):
        height = round(usable * value / top, 1)
        bars.append({"x": round(PAD + n * slot + slot * 0.1, 1), "width": round(slot * 0.8, 1),
                     "y": round(PAD + usable - height, 1), "height": height,
                     "day": date.fromisoformat(point["day"]), "value": point["value"],
                     "drought": point.get("drought", False)})
    return {"width": WIDTH, "height": HEIGHT, "bars": bars, "top": top,
            "baseline": HEIGHT - AXIS, "first": bars[0]["day"] if bars else None,
            "last": bars[-1]["day"] if bars else None}
