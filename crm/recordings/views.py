"""Attaching a recording to a follow-up, and playing it back to those who may see the customer.

The notes are saved first; the audio arrives by its own request, so a failed upload loses
nothing that was typed and can be retried alone.
"""

from flask import Blueprint, abort, current_app, flash, jsonify, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import access
from crm.audit.log import record
from crm.audit.models import AuditAction
from crm.errors import render_error
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.htmx import redirect_after_post, render_page, wants_json
from crm.recordings.attaching import (
    CONSENT_NEEDED,
    attach_recording,
    needs_consent_confirmation,
    try_again,
)
from crm.recordings.forms import RecordingForm, max_recording_mb
from crm.recordings.models import STATUS_LABELS, Recording, RecordingStatus
from crm.recordings.processing import failure_reason
from crm.recordings.sniffing import EXTENSIONS, HEADER_BYTES, sniff_audio
from crm.saving import run_change
from crm.storage import audio_store
from crm.uploads import stream_uploads_into

bp = Blueprint("recordings", __name__)

# Room for the form fields around the file.
FORM_OVERHEAD_BYTES = 64 * 1024


@bp.url_value_preprocessor
def _allow_the_upload(endpoint, values):
    # Before the CSRF check reads the body. Only a signed-in user may send a large body.
    # Only for someone who may add to this follow-up: nobody else makes the server write a
    # large body to disk (they keep the ordinary form limit and get their 404/403).
    if (endpoint == "recordings.upload" and current_user.is_authenticated
            and access.may_add_recording(current_user, values.get("follow_up_id"))):
        stream_uploads_into(request, audio_store(),
                            current_app.config["RECORDING_MAX_BYTES"] + FORM_OVERHEAD_BYTES)


@bp.before_request
@login_required
def _signed_in_only():
    return None


@bp.app_context_processor
def _labels():
    # The card and the follow-up lists show recordings too.
    return {"recording_status_labels": STATUS_LABELS, "may_hear": _may_hear,
            "recording_failure_reason": failure_reason}


def _may_hear(recording: Recording) -> bool:
    return access.may_hear_recordings(current_user, recording.follow_up.customer)


def _too_big_message() -> str:
    return _("The recording is larger than %(size)s MB, the most this server accepts.",
             size=max_recording_mb())


@bp.errorhandler(413)
def _upload_too_large(error):
    # Raised while the CSRF check reads the body, before the view's own checks.
    follow_up_id = (request.view_args or {}).get("follow_up_id")
    if not (current_user.is_authenticated
            and access.may_add_recording(current_user, follow_up_id)):
        return render_error(error)
    follow_up = access.follow_up_or_404(current_user, follow_up_id, to_edit=True)
    return _refuse(follow_up, RecordingForm(formdata=None), _too_big_message(), 413)


def _upload_page(follow_up: FollowUp, form: RecordingForm, status: int = 200):
    return render_page("recordings/new.html", follow_up=follow_up, customer=follow_up.customer,
                       form=form, max_mb=max_recording_mb(), status=status)


def _refuse(follow_up: FollowUp, form: RecordingForm, message: str, status: int):
    if wants_json():
        return jsonify(ok=False, error=message), status
    form.audio.errors = [message]
    return _upload_page(follow_up, form, status)


@bp.get("/follow-ups/<int:follow_up_id>/recordings/new")
def new(follow_up_id: int):
    follow_up = access.follow_up_or_404(current_user, follow_up_id, to_edit=True)
    return _upload_page(follow_up, RecordingForm())


@bp.post("/follow-ups/<int:follow_up_id>/recordings")
def upload(follow_up_id: int):
    follow_up = access.follow_up_or_404(current_user, follow_up_id, to_edit=True)
    form = RecordingForm()
    if not form.validate_on_submit():
        message = next(iter(form.audio.errors), None) or _("The form has expired; try again.")
        return _refuse(follow_up, form, str(message), 422)
    incoming = form.audio.data.stream
    if incoming.size > current_app.config["RECORDING_MAX_BYTES"]:
        return _refuse(follow_up, form, _too_big_message(), 413)
    incoming.seek(0)
    audio_type = sniff_audio(incoming.read(HEADER_BYTES))
    if audio_type is None:
        return _refuse(follow_up, form, _(
            "This file is not a recording we can play. Send an audio file: m4a, mp3, wav, "
            "ogg, webm, 3gp or amr."), 415)
    if needs_consent_confirmation(follow_up) and not form.consent.data:
        # Checked before anything is stored; attach_recording holds the rule itself too.
        form.consent.errors = [str(CONSENT_NEEDED)]
        return _refuse(follow_up, form, str(CONSENT_NEEDED), 422)
    attach_recording(follow_up, current_user, audio_store().keep(incoming), audio_type,
                     consent_confirmed=bool(form.consent.data))
    db.session.commit()
    done_url = (url_for("customers.show", customer_id=follow_up.customer_id)
                + f"#follow-up-{follow_up.id}")
    if wants_json():
        return jsonify(ok=True, redirect=done_url), 201
    flash(_("The recording is uploaded. It will be ready to play in a moment."), "success")
    return redirect_after_post(done_url)


@bp.get("/recordings/<int:recording_id>")
def show(recording_id: int):
    """The recording as the timeline shows it; polled while it is being processed."""
    recording = access.recording_or_404(current_user, recording_id)
    return render_page("recordings/show.html", "recordings/_recording.html",
                       recording=recording)


def _send_audio(sha256: str, mimetype: str, download_name: str, as_attachment: bool = False):
    response = send_file(audio_store().path_for(sha256), mimetype=mimetype, conditional=True,
                         etag=sha256, download_name=download_name, as_attachment=as_attachment,
                         max_age=3600)
    # Customers' voices: the browser may keep it to seek, shared caches may not.
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/recordings/<int:recording_id>/audio")
def audio(recording_id: int):
    """The playable copy, with Range support so the player can seek."""
    recording = access.recording_or_404(current_user, recording_id)
    if recording.status != RecordingStatus.READY:
        abort(404)
    response = _send_audio(recording.playable_sha256, "audio/mp4",
                           f"recording-{recording.id}.m4a")
    if _starts_playing():
        _audit(AuditAction.PLAY, recording)
    return response


def _starts_playing() -> bool:
    """The player asks for many ranges while it plays and seeks: one event for the request
    that starts at the beginning (or asks for the whole file)."""
    ranges = request.range
    return ranges is None or any(start == 0 for start, _end in ranges.ranges)


def _audit(action: AuditAction, recording: Recording) -> None:
    record(action, current_user.id, recording.follow_up.customer_id,
           recording=recording.id)
    db.session.commit()


@bp.get("/recordings/<int:recording_id>/original")
def original(recording_id: int):
    """The file exactly as it was uploaded (kept even when it could not be processed)."""
    recording = access.recording_or_404(current_user, recording_id)
    if recording.status == RecordingStatus.DELETED:
        abort(404)
    extension = EXTENSIONS.get(recording.original_type, "bin")
    response = _send_audio(recording.original_sha256, recording.original_type,
                           f"recording-{recording.id}-original.{extension}", as_attachment=True)
    if _starts_playing():
        _audit(AuditAction.DOWNLOAD, recording)
    return response


@bp.post("/recordings/<int:recording_id>/retry")
def retry(recording_id: int):
    """Process a failed recording again (its original is kept)."""
    recording = access.recording_to_retry_or_404(current_user, recording_id)
    back = (url_for("customers.show", customer_id=recording.follow_up.customer_id)
            + f"#follow-up-{recording.follow_up_id}")

    def done(_result):
        flash(_("The recording is being processed again."), "success")
        return redirect_after_post(back)

    return run_change(lambda: try_again(recording), done=done, refused_url=back)
