"""Settings read from the environment, with defaults that run on one machine."""

import hashlib
import os
import secrets
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def instance_dir() -> Path:
    """The folder for local state: SQLite file, secret key, embedded Redis, uploads."""
    return Path(os.environ.get("CRM_INSTANCE_DIR") or PROJECT_ROOT / "instance").resolve()


def protect_instance(folder: Path) -> None:
    """Files this process creates are its user's alone (0600, folders 0700): the database,
    Redis's append-only file, uploads and logs hold customers' data. The instance folder
    itself is closed to other users too, which covers files made before this rule."""
    os.umask(0o077)
    try:
        folder.chmod(0o700)
    except OSError:
        pass  # not ours (a mounted volume): its owner decides


def load_or_create_secret_key(folder: Path) -> str:
    """Read the key generated on first start, so sessions survive restarts."""
    path = folder / "secret_key"
    if path.exists():
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: when two processes start together, the first one's key wins.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def embedded_redis_socket(folder: Path) -> Path:
    """The embedded Redis listens on a socket in the instance folder (or /tmp if too deep)."""
    path = folder / "redis.sock"
    if len(str(path)) > 100:  # AF_UNIX paths are limited to about 107 bytes
        digest = hashlib.sha1(str(folder).encode()).hexdigest()[:12]
        path = Path(tempfile.gettempdir()) / f"crm-redis-{digest}.sock"
    return path


def from_environment() -> dict:
    """Build the Flask config mapping from environment variables."""
    folder = instance_dir()
    folder.mkdir(parents=True, exist_ok=True)
    protect_instance(folder)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder / 'crm.sqlite3'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    secure_cookies = _bool("SECURE_COOKIES", True)
    return {
        "INSTANCE_DIR": str(folder),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or load_or_create_secret_key(folder),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # hide_parameters: SQL errors must not copy customers' data or hashes into logs.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        # Unset means the embedded server that `make run` supervises.
        "REDIS_URL": os.environ.get("REDIS_URL") or "",
        "EMBEDDED_REDIS_SOCKET": str(embedded_redis_socket(folder)),
        "UPLOAD_FOLDER": os.environ.get("UPLOAD_FOLDER") or str(folder / "uploads"),
        "BABEL_DEFAULT_LOCALE": os.environ.get("DEFAULT_LOCALE") or "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "DEFAULT_TIMEZONE": os.environ.get("DEFAULT_TIMEZONE") or "Asia/Shanghai",
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "translations"),
        "LANGUAGES": ["zh_CN", "en"],
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "crm_session",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_NAME": "crm_remember",
        "REMEMBER_COOKIE_DURATION": 30 * 24 * 3600,
        "PREFERRED_URL_SCHEME": "https" if secure_cookies else "http",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_FORM_BYTES") or 2 * 1024 * 1024),
        # A recording may be far larger than a form: an hour of a call recorder's WAV.
        "RECORDING_MAX_BYTES": int(float(os.environ.get("RECORDING_MAX_MB") or 200) * 1024 * 1024),
        # Failed sign-ins counted per window (crm.accounts.login): per e-mail and client
        # address, and per client address whatever the e-mail (an office behind one NAT
        # shares it: keep it generous).
        "LOGIN_WINDOW_MINUTES": 15,
        "LOGIN_PAIR_LIMIT": 5,
        "LOGIN_ADDRESS_LIMIT": int(os.environ.get("LOGIN_ADDRESS_LIMIT") or 50),
        # Recordings: a job lost with its worker is tried again within this many seconds; after
        # this many attempts the recording is marked failed; longer audio is refused.
        "RECORDING_RETRY_AFTER_SECONDS": int(os.environ.get("RECORDING_RETRY_AFTER_SECONDS")
                                             or 300),
        "RECORDING_MAX_ATTEMPTS": int(os.environ.get("RECORDING_MAX_ATTEMPTS") or 3),
        "RECORDING_MAX_MINUTES": float(os.environ.get("RECORDING_MAX_MINUTES") or 180),
        # Nightly backups (off unless a folder is given), and how many to keep there.
        "BACKUP_FOLDER": os.environ.get("BACKUP_FOLDER") or "",
        "BACKUP_KEEP": int(os.environ.get("BACKUP_KEEP") or 7),
        "SESSION_IDLE_DAYS": 1,
        # How long the download link of a customer's data (crm.privacy) works.
        "DATA_EXPORT_LINK_HOURS": float(os.environ.get("DATA_EXPORT_LINK_HOURS") or 24),
        # However active, a session ends this many hours after sign-in.
        "SESSION_MAX_HOURS": float(os.environ.get("SESSION_MAX_HOURS") or 12),
        "TRUST_PROXY_HEADERS": _bool("TRUST_PROXY_HEADERS", False),
        # Reminders by e-mail: smtp://user:password@host:587?starttls=1 or smtps://…:465;
        # unset, no e-mail is sent (the app still notifies in the app and the work chat).
        "SMTP_URL": os.environ.get("SMTP_URL") or "",
        "MAIL_FROM": os.environ.get("MAIL_FROM") or "crm@localhost",
        # The address people open the app at, for links in e-mails and chat messages.
        "PUBLIC_URL": (os.environ.get("PUBLIC_URL") or "").rstrip("/"),
        # The public survey link: requests per client address per window (seconds).
        "SURVEY_RATE_LIMIT": int(os.environ.get("SURVEY_RATE_LIMIT") or 30),
        "SURVEY_RATE_WINDOW": int(os.environ.get("SURVEY_RATE_WINDOW") or 600),
    }
