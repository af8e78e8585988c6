"""Backups taken while the app runs, and restoring one into an empty instance.

    flask --app app backup create DEST     a snapshot folder DEST/backup-<UTC time>/
    flask --app app backup restore SRC     SRC: a snapshot folder, or DEST (the newest one)

A snapshot holds the database (SQLite through its online backup API, a consistent copy even
while others write, WAL included; PostgreSQL through `pg_dump`, one consistent transaction),
the secret key, and a manifest of the upload store's files. The files themselves go into
DEST/files/, shared by every snapshot in DEST: they are named by their content hash, so a
second backup copies only the files that are new. The database is copied first and the files
after it, so every file a backed-up row refers to is there (uploads are stored before the
row that names them is committed).
"""

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from crm.clock import utcnow
from crm.extensions import db

SNAPSHOT_PREFIX = "backup-"
MANIFEST = "manifest.json"
FILES = "files"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.dump"


class BackupError(Exception):
    """Something the person running the command must fix; said in plain words."""


# Where things are -----------------------------------------------------------------------

def _upload_root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def _secret_key_path() -> Path:
    return Path(current_app.config["INSTANCE_DIR"]) / "secret_key"


def _database_url():
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _backend() -> str:
    return _database_url().get_backend_name()


def _pg_environment() -> dict:
    """libpq's own variables: the password never appears on a command line."""
    url = _database_url()
    env = {**os.environ, "PGDATABASE": url.database or ""}
    for name, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                        ("PGPASSWORD", url.password)):
        if value is not None:
            env[name] = str(value)
    return env


def _upload_files() -> list[Path]:
    """The store's kept files, relative to its root; partial uploads (`incoming/`) left out."""
    root = _upload_root()
    if not root.exists():
        return []
    return sorted(path.relative_to(root) for path in root.rglob("*")
                  if path.is_file() and "incoming" not in path.relative_to(root).parts)


# Creating -------------------------------------------------------------------------------

def create_backup(dest: Path) -> Path:
    """Write a snapshot into `dest`; returns its folder."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    work = Path(tempfile.mkdtemp(prefix=".partial-", dir=dest))
    try:
        backend = _backend()
        if backend == "sqlite":
            _sqlite_backup(Path(_database_url().database), work / SQLITE_FILE)
            database_file = SQLITE_FILE
        elif backend == "postgresql":
            _pg_dump(work / PG_FILE)
            database_file = PG_FILE
        else:
            raise BackupError(f"backups of a {backend} database are not supported")
        files, copied = _copy_files(dest / FILES)
        key = _secret_key()
        if key:
            (work / "secret_key").write_text(key)
            os.chmod(work / "secret_key", 0o600)
        manifest = {"created_at": utcnow().isoformat(), "backend": backend,
                    "database": database_file, "files": files, "files_copied": copied,
                    "secret_key": bool(key)}
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1))
        snapshot = dest / f"{SNAPSHOT_PREFIX}{stamp}"
        work.rename(snapshot)  # a snapshot exists only once it is complete
        return snapshot
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def _sqlite_backup(source: Path, target: Path) -> None:
    # A reader of its own: the online backup API copies a consistent state, restarting
    # itself if a writer changes pages under it, and reads committed WAL frames too.
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30) as reader:
        writer = sqlite3.connect(target)
        try:
            reader.backup(writer, pages=1024)
        finally:
            writer.close()


def _pg_dump(target: Path) -> None:
    done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                           "--file", str(target)], env=_pg_environment(),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()[:500]}")


def _copy_files(store: Path) -> tuple[list[list], int]:
    """Copy the upload store's files that `store` lacks; returns the manifest rows
    [relative path, size] and how many files were copied."""
    root = _upload_root()
    rows, copied = [], 0
    for relative in _upload_files():
        source = root / relative
        try:
            size = source.stat().st_size
        except FileNotFoundError:
            continue  # erased meanwhile
        target = store / relative
        if not (target.exists() and target.stat().st_size == size):
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.partial")
            try:
                shutil.copyfile(source, partial)
            except FileNotFoundError:
                continue
            partial.replace(target)
            copied += 1
        rows.append([str(relative), size])
    return rows, copied


def _secret_key() -> str:
    path = _secret_key_path()
    if path.exists():
        return path.read_text().strip()
    return current_app.config.get("SECRET_KEY") or ""


def snapshots(dest: Path) -> list[Path]:
    """A backup folder's complete snapshots, oldest first."""
    dest = Path(dest)
    if not dest.exists():
        return []
    return sorted(p for p in dest.iterdir()
                  if p.is_dir() and p.name.startswith(SNAPSHOT_PREFIX) and (p / MANIFEST).exists())


def prune(dest: Path, keep: int) -> int:
    """Keep the newest `keep` snapshots, and the stored files they name; returns how many
    snapshots were removed."""
    dest = Path(dest)
    all_snapshots = snapshots(dest)
    old = all_snapshots[:-keep] if keep > 0 else []
    for snapshot in old:
        shutil.rmtree(snapshot)
    named = set()
    for snapshot in snapshots(dest):
        named.update(row[0] for row in json.loads((snapshot / MANIFEST).read_text())["files"])
    store = dest / FILES
    if store.exists():
        for path in store.rglob("*"):
            if path.is_file() and str(path.relative_to(store)) not in named:
                path.unlink()
    return len(old)


def nightly_backup():
    """The periodic job: a snapshot into BACKUP_FOLDER, keeping BACKUP_KEEP of them."""
    folder = current_app.config.get("BACKUP_FOLDER")
    if not folder:
        return "backups are not configured (BACKUP_FOLDER)"
    snapshot = create_backup(Path(folder))
    prune(Path(folder), current_app.config.get("BACKUP_KEEP", 7))
    return str(snapshot)


# Restoring ------------------------------------------------------------------------------

def find_snapshot(src: Path) -> Path:
    src = Path(src)
    if (src / MANIFEST).exists():
        return src
    found = snapshots(src)
    if not found:
        raise BackupError(f"no backup found in {src}")
    return found[-1]


def restore_backup(src: Path) -> dict:
    """Restore a snapshot into this instance, whose database must be empty (no tables)."""
    snapshot = find_snapshot(src)
    manifest = json.loads((snapshot / MANIFEST).read_text())
    backend = _backend()
    if manifest["backend"] != backend:
        raise BackupError(f"the backup is of a {manifest['backend']} database, this instance "
                          f"uses {backend}")
    if inspect(db.engine).get_table_names():
        raise BackupError("the database is not empty: restore into an empty instance")
    store = snapshot.parent / FILES
    missing = [row[0] for row in manifest["files"] if not (store / row[0]).exists()]
    if missing:
        raise BackupError(f"{len(missing)} stored files are missing from {store}")
    db.engine.dispose()
    if backend == "sqlite":
        _sqlite_restore(snapshot / manifest["database"], Path(_database_url().database))
    else:
        _pg_restore(snapshot / manifest["database"])
    root = _upload_root()
    for relative, _size in manifest["files"]:
        target = root / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(store / relative, target)
    if manifest.get("secret_key"):
        key_path = _secret_key_path()
        key_path.parent.mkdir(parents=True, exist_ok=True)
        key_path.write_text((snapshot / "secret_key").read_text())
        os.chmod(key_path, 0o600)
    return {"snapshot": str(snapshot), "files": len(manifest["files"]),
            "created_at": manifest["created_at"]}


def _sqlite_restore(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as reader:
        writer = sqlite3.connect(target, timeout=30)
        try:
            reader.backup(writer)
        finally:
            writer.close()


def _pg_restore(source: Path) -> None:
    done = subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                           "--single-transaction", "--dbname", _pg_environment()["PGDATABASE"],
                           str(source)], env=_pg_environment(), capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()[:500]}")


def created_at(snapshot: Path) -> datetime:
    return datetime.fromisoformat(json.loads((Path(snapshot) / MANIFEST).read_text())["created_at"])
