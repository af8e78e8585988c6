"""The one place that knows how htmx requests differ from plain ones."""

from flask import make_response, redirect, render_template, request


def is_fragment_request() -> bool:
    """True when htmx asks for a piece of a page rather than a whole page."""
    headers = request.headers
    return (headers.get("HX-Request") == "true"
            and headers.get("HX-Boosted") != "true"
            and headers.get("HX-History-Restore-Request") != "true")


def render_page(template: str, fragment: str | None = None, /, *, status: int = 200, **context):
    """Render the page, or, for htmx, the partial the page includes: one template source."""
    template = fragment if fragment and is_fragment_request() else template
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def form_error_status() -> int:
    # htmx 2 does not swap 4xx responses by default; plain posts get the honest 422.
    return 200 if is_fragment_request() else 422


def redirect_after_post(url: str):
    """POST/redirect/GET for plain forms; htmx follows HX-Redirect instead."""
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


def wants_json() -> bool:
    """A script (the recording uploader) asks for a JSON answer instead of a page."""
    return request.accept_mimetypes.best == "application/json"
