"""Team work-chat robots: WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书) group webhooks.

DingTalk and Feishu sign each message with the robot's secret (HMAC-SHA256 of
"<timestamp>\\n<secret>", base64); a WeCom robot's key is part of its address and it has no
separate secret. The address and the secret are secrets: neither is logged nor shown back,
and an error says what went wrong without them.
"""

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from urllib.parse import quote_plus

from flask_babel import lazy_gettext as _l

from crm.errors import DomainError
from crm.reminders.models import Channel

TIMEOUT_SECONDS = 10


class SendFailed(Exception):
    """The receiver refused or did not answer; the message says why, without secrets."""


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def build_request(channel: str, url: str, secret: str | None, text: str,
                  now: float | None = None) -> tuple[str, dict]:
    """The address to post to and the JSON body, in the robot's own format."""
    now = time.time() if now is None else now
    if channel == Channel.WECOM:
        return url, {"msgtype": "text", "text": {"content": text}}
    if channel == Channel.DINGTALK:
        if secret:
            timestamp = int(now * 1000)
            joiner = "&" if "?" in url else "?"
            url = (f"{url}{joiner}timestamp={timestamp}"
                   f"&sign={quote_plus(dingtalk_sign(secret, timestamp))}")
        return url, {"msgtype": "text", "text": {"content": text}}
    if channel == Channel.FEISHU:
        body = {"msg_type": "text", "content": {"text": text}}
        if secret:
            timestamp = int(now)
            body = {"timestamp": str(timestamp), "sign": feishu_sign(secret, timestamp), **body}
        return url, body
    raise SendFailed(f"unknown channel {channel!r}")


def post(channel: str, url: str, secret: str | None, text: str) -> None:
    """Send one message; raise SendFailed with a reason fit for the System page."""
    address, body = build_request(channel, url, secret, text)
    request = urllib.request.Request(address, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            answer = response.read(4096)
    except urllib.error.HTTPError as error:
        raise SendFailed(f"HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SendFailed(f"no answer ({type(reason).__name__})") from None
    try:
        result = json.loads(answer or b"{}")
    except ValueError:
        return
    code = result.get("errcode", result.get("code", result.get("StatusCode", 0)))
    if code not in (0, None):
        message = str(result.get("errmsg") or result.get("msg") or "")[:120]
        raise SendFailed(f"refused: {code} {message}".strip())


def send_test_message(team) -> None:
    """The team form's "send a test message": at once, so the admin sees the outcome."""
    if not team.chat_channel or not team.chat_webhook_url:
        raise DomainError(_l("Set the team's work-chat robot first."))
    text = str(_l("Test message from the field CRM for team %(team)s.", team=team.name))
    try:
        post(team.chat_channel, team.chat_webhook_url, team.chat_secret, text)
    except SendFailed as error:
        raise DomainError(_l("The work chat did not accept the message: %(reason)s",
                             reason=str(error))) from None
