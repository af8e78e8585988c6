"""Requests whose file uploads go straight into a file store, hashed on the way in, and whose
bodies are refused (413) as soon as they pass the limit, chunked or not.

Werkzeug's form parser asks the request for a place to write each uploaded file; for the
routes that opt in, that place is the store's own temporary file, so a large recording is
written to disk once, chunk by chunk, and never held in memory. A body that turns out too
large mid-way leaves nothing behind: its temporary file is closed (and so removed) when the
request ends.
"""

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

from crm.storage import FileStore


class CappedStream(LimitedStream):
    """A body without Content-Length (chunked), allowed up to `cap` bytes. Werkzeug's own
    limit stops reading at the cap without a word, which cuts a form short and saves the
    rest; this one reads one byte further and refuses the request when that byte exists."""

    def __init__(self, stream, cap: int):
        super().__init__(stream, cap + 1, is_max=True)
        self.cap = cap

    def readinto(self, b) -> int | None:
        size = super().readinto(b)
        if self._pos > self.cap:
            raise RequestEntityTooLarge()
        return size


class CRMRequest(Request):
    upload_store: FileStore | None = None

    @cached_property
    def args(self) -> ImmutableMultiDict:
        """The query string without NUL characters: PostgreSQL refuses them in text (a 500
        from `?q=%00`), and no filter means one. Issue 15."""
        args = super().args
        if b"%00" not in self.query_string:
            return args
        return _without_nul(args)

    @cached_property
    def form(self) -> ImmutableMultiDict:
        """Form fields without NUL characters, for the same reason (a pasted note)."""
        form = super().form
        if not any("\x00" in key or "\x00" in value for key, value in form.items(multi=True)):
            return form
        return _without_nul(form)

    @cached_property
    def stream(self):
        if (self.content_length is None and self.max_content_length is not None
                and self.environ.get("wsgi.input_terminated") and not self.shallow):
            return CappedStream(self.environ["wsgi.input"], self.max_content_length)
        return super().stream

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        if self.upload_store is not None:
            incoming = self.upload_store.incoming()
            self.__dict__.setdefault("_incoming_files", []).append(incoming)
            return incoming
        return super()._get_file_stream(total_content_length, content_type, filename,
                                        content_length)

    def close(self) -> None:
        # Kept files were linked under their hash already; the rest (a body refused
        # half-way, a file the view turned down) disappear with their temporary name.
        try:
            super().close()
        finally:
            for incoming in self.__dict__.pop("_incoming_files", []):
                incoming.close()


def _without_nul(values) -> ImmutableMultiDict:
    return ImmutableMultiDict([(key.replace("\x00", ""), value.replace("\x00", ""))
                               for key, value in values.items(multi=True)])


def stream_uploads_into(request, store: FileStore, max_bytes: int) -> None:
    """Let this request carry up to `max_bytes` and write its files into `store`.

    Call it before anything reads the form (a url_value_preprocessor runs before the CSRF
    check, which does).
    """
    request.max_content_length = max_bytes
    request.upload_store = store
