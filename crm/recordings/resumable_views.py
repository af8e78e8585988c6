"""Chunked, resumable recording uploads (the phone's script speaks JSON to these).

    POST /follow-ups/<id>/uploads       size, consent    → 201 {id, url, offset: 0}
    GET  /uploads/<id>                                   → {offset, size}
    POST /uploads/<id>/chunks?offset=N  raw bytes        → {offset} or 201 {done, redirect}
    POST /uploads/<id>/discard                           → 204

A refused piece answers its status with {error, offset} so the script knows where to go on.
"""

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import ClientDisconnected

from crm import access
from crm.extensions import db
from crm.recordings.forms import max_recording_mb
from crm.recordings.resumable import (
    UploadRefused,
    confirmed_offset,
    discard_upload,
    finish_upload,
    is_complete,
    receive_chunk,
    start_upload,
)
from crm.storage import audio_store

bp = Blueprint("uploads", __name__)


@bp.before_request
@login_required
def _signed_in_only():
    return None


def _refused(error: UploadRefused):
    if error.status == 413:
        message = _("The recording is larger than %(size)s MB, the most this server accepts.",
                    size=max_recording_mb())
    else:
        message = str(error.message)
    return jsonify(ok=False, error=message, offset=error.offset), error.status


def _int_arg(source, name: str) -> int | None:
    try:
        value = int(source.get(name, ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def _state(upload, offset: int) -> dict:
    return {"id": upload.id, "offset": offset, "size": upload.size,
            "url": url_for("uploads.show", upload_id=upload.id),
            "chunks": url_for("uploads.chunk", upload_id=upload.id)}


@bp.post("/follow-ups/<int:follow_up_id>/uploads")
def create(follow_up_id: int):
    follow_up = access.follow_up_or_404(current_user, follow_up_id, to_edit=True)
    size = _int_arg(request.form, "size")
    if size is None:
        return jsonify(ok=False, error=_("Say how large the recording is.")), 422
    try:
        upload = start_upload(audio_store(), follow_up, current_user, size,
                              current_app.config["RECORDING_MAX_BYTES"],
                              request.form.get("consent") in ("y", "1", "true", "on"))
    except UploadRefused as error:
        return _refused(error)
    db.session.commit()
    return jsonify(ok=True, **_state(upload, 0)), 201


@bp.get("/uploads/<upload_id>")
def show(upload_id: str):
    upload = access.recording_upload_or_404(current_user, upload_id)
    return jsonify(ok=True, **_state(upload, confirmed_offset(audio_store(), upload)))


@bp.post("/uploads/<upload_id>/chunks")
def chunk(upload_id: str):
    upload = access.recording_upload_or_404(current_user, upload_id)
    store = audio_store()
    offset = _int_arg(request.args, "offset")
    if offset is None:
        return jsonify(ok=False, error=_("Say where this piece starts."),
                       offset=confirmed_offset(store, upload)), 422
    try:
        have = receive_chunk(store, upload, offset, request.stream, request.content_length)
    except UploadRefused as error:
        if error.status == 415:  # not audio: nothing of it is kept
            discard_upload(store, upload)
        db.session.commit()
        return _refused(error)
    except (OSError, ClientDisconnected):
        # The connection dropped half way: what arrived is kept, the phone resumes from it.
        db.session.commit()
        return jsonify(ok=False, offset=confirmed_offset(store, upload)), 400
    if is_complete(store, upload):
        follow_up = upload.follow_up
        recording = finish_upload(store, upload, current_user)
        db.session.commit()
        done_url = (url_for("customers.show", customer_id=follow_up.customer_id)
                    + f"#follow-up-{follow_up.id}")
        return jsonify(ok=True, done=True, offset=have, recording=recording.id,
                       redirect=done_url), 201
    db.session.commit()
    return jsonify(ok=True, offset=have, size=upload.size)


@bp.post("/uploads/<upload_id>/discard")
def discard(upload_id: str):
    upload = access.recording_upload_or_404(current_user, upload_id)
    discard_upload(audio_store(), upload)
    db.session.commit()
    return "", 204
