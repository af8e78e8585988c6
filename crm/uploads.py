"""Requests whose file uploads go straight into a file store, hashed on the way in.

Werkzeug's form parser asks the request for a place to write each uploaded file; for the
routes that opt in, that place is the store's own temporary file, so a large recording is
written to disk once, chunk by chunk, and never held in memory.
"""

from flask import Request

from crm.storage import FileStore


class CRMRequest(Request):
    upload_store: FileStore | None = None

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        if self.upload_store is not None:
            return self.upload_store.incoming()
        return super()._get_file_stream(total_content_length, content_type, filename,
                                        content_length)


def stream_uploads_into(request, store: FileStore, max_bytes: int) -> None:
    """Let this request carry up to `max_bytes` and write its files into `store`.

    Call it before anything reads the form (a url_value_preprocessor runs before the CSRF
    check, which does).
    """
    request.max_content_length = max_bytes
    request.upload_store = store
