"""Requests whose file uploads go straight into a file store, hashed on the way in.

Werkzeug's form parser asks the request for a place to write each uploaded file; for the
routes that opt in, that place is the store's own temporary file, so a large recording is
written to disk once, chunk by chunk, and never held in memory.
"""

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.utils import cached_property

from crm.storage import FileStore


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

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        if self.upload_store is not None:
            return self.upload_store.incoming()
        return super()._get_file_stream(total_content_length, content_type, filename,
                                        content_length)


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
