"""Files kept once under their content hash, outside `static/`, written without ever holding
a whole file in memory.

An upload is written chunk by chunk into a temporary file in the store's own folder while it is
hashed; keeping it links that file under its hash (same filesystem, so the link is atomic and
a second copy of the same bytes costs nothing). A temporary file nobody keeps disappears when
it is closed.
"""

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    path: Path


class IncomingFile:
    """A temporary file that hashes and counts what is written to it (an upload in flight)."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self._file = tempfile.NamedTemporaryFile(dir=folder, prefix="incoming-")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        self.size += len(data)
        return self._file.write(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def __getattr__(self, name):
        # read, seek, tell, flush, close, name…: the parser and FileStorage use them.
        return getattr(self._file, name)

    def __iter__(self):
        return iter(self._file)


class FileStore:
    """One folder of content-addressed files: `<root>/ab/cd/abcd…`."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.incoming_dir = self.root / "incoming"

    def incoming(self) -> IncomingFile:
        return IncomingFile(self.incoming_dir)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def keep(self, incoming: IncomingFile) -> StoredFile:
        """Store what was written under its hash (once) and drop the temporary name."""
        incoming.flush()
        os.fsync(incoming.fileno())
        target = self.path_for(incoming.sha256)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(incoming.name, target)
            except FileExistsError:
                pass  # the same bytes arrived twice at once: one copy is enough
        incoming.close()
        return StoredFile(incoming.sha256, incoming.size, target)

    def keep_path(self, path: Path) -> StoredFile:
        """Store a file made on this machine (a transcode), copying it in chunk by chunk."""
        incoming = self.incoming()
        with open(path, "rb") as source:
            while chunk := source.read(CHUNK_BYTES):
                incoming.write(chunk)
        return self.keep(incoming)

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()


def audio_store() -> FileStore:
    return FileStore(Path(current_app.config["UPLOAD_FOLDER"]) / "audio")
