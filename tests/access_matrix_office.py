"""Access-matrix rows for customer import and export (office and admin only).

tests/access_matrix.py adds these to ROUTES.
"""

import io

from tests.access_matrix import Route, everyone, only, signed_in  # noqa: F401

OFFICE = ("office", "admin")
NO_SUCH_PREVIEW = "/customers/import/" + "x" * 32


def _upload(world) -> dict:
    csv = "姓名,电话\n矩阵测试客户,13511112222\n".encode()
    return {"file": (io.BytesIO(csv), "customers.csv"), "owner_id": ""}


OFFICE_ROUTES: list[Route] = [
    Route("GET", "/customers/import", only(OFFICE, 200)),
    # A good file is checked and kept for the preview: nothing is written yet.
    Route("POST", "/customers/import", only(OFFICE, 303), data=_upload),
    # A preview that does not exist (or is someone else's) looks expired: 404.
    Route("GET", "/customers/import/<token>", only(OFFICE, 404),
          url=lambda w: NO_SUCH_PREVIEW),
    Route("POST", "/customers/import/<token>", only(OFFICE, 404),
          url=lambda w: NO_SUCH_PREVIEW),
    # The problem rows of a preview: only for the importer who made it, like the preview.
    Route("GET", "/customers/import/<token>/problems.xlsx", only(OFFICE, 404),
          url=lambda w: NO_SUCH_PREVIEW + "/problems.xlsx"),
    Route("GET", "/customers/import/<token>/problems.csv", only(OFFICE, 404),
          url=lambda w: NO_SUCH_PREVIEW + "/problems.csv"),
    Route("GET", "/customers/export.xlsx", only(OFFICE, 200)),
    Route("GET", "/customers/export.csv", only(OFFICE, 200)),
]
