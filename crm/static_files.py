"""Static files under content-hashed names, cached for a year, sent pre-compressed; pages
and JSON compressed on the way out.

At start-up every file in static/ is copied once to `<instance>/static/` as
`name.<hash>.ext`, with `.gz` and `.br` beside it; `url_for('static', filename='app.js')`
then gives `/static/app.<hash>.js`, which WhiteNoise answers with
`Cache-Control: public, max-age=31536000, immutable` (a changed file is a new name), so a
repeat visit asks for no static file. The plain names still work (Flask's own static route,
revalidated on every use) for anything that hard-codes them.
"""

import gzip
import hashlib
import os
import re
import tempfile
from pathlib import Path

import brotli
from flask import Flask
from flask_compress import Compress
from whitenoise import WhiteNoise

YEAR = 365 * 24 * 3600
HASHED = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")
COMPRESSIBLE = {".css", ".js", ".svg", ".json", ".txt", ".html", ".map"}

compress = Compress()


def _write_once(path: Path, data: bytes) -> None:
    """Write atomically (several web processes may start together) unless already there."""
    if path.exists():
        return
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def build_hashed_copies(source: Path, target: Path) -> dict[str, str]:
    """Copy each file of `source` to `target` under its hashed name; return name -> hashed."""
    target.mkdir(parents=True, exist_ok=True)
    names = {}
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        data = path.read_bytes()
        relative = path.relative_to(source)
        digest = hashlib.sha256(data).hexdigest()[:12]
        hashed = relative.with_name(f"{relative.stem}.{digest}{relative.suffix}")
        destination = target / hashed
        destination.parent.mkdir(parents=True, exist_ok=True)
        _write_once(destination, data)
        if path.suffix in COMPRESSIBLE:
            _write_once(destination.with_name(destination.name + ".gz"),
                        gzip.compress(data, compresslevel=9, mtime=0))
            _write_once(destination.with_name(destination.name + ".br"),
                        brotli.compress(data, quality=11))
        names[relative.as_posix()] = hashed.as_posix()
    return names


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 4)
    app.config.setdefault("COMPRESS_LEVEL", 6)
    app.config.setdefault("COMPRESS_MIMETYPES", ["text/html", "application/json",
                                                 "text/plain", "text/csv"])
    compress.init_app(app)

    build = Path(app.config["INSTANCE_DIR"]) / "static"
    hashed = build_hashed_copies(Path(app.static_folder), build)
    app.extensions["static_hashed_names"] = hashed

    @app.url_defaults
    def _hashed_static_name(endpoint, values):
        if endpoint == "static" and values.get("filename") in hashed:
            values["filename"] = hashed[values["filename"]]

    static_prefix = (app.static_url_path or "/static").strip("/") + "/"
    app.wsgi_app = WhiteNoise(app.wsgi_app, root=str(build), prefix=static_prefix,
                              max_age=YEAR,
                              immutable_file_test=lambda _path, url: bool(HASHED.search(url)),
                              add_headers_function=_static_headers)


def _static_headers(headers, _path, url) -> None:
    headers["X-Content-Type-Options"] = "nosniff"
    if HASHED.search(url):  # WhiteNoise says ten years; a year is what HTTP caches honour
        headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
