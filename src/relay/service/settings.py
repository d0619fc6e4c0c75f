"""Django settings of the relay service, built from ``relay serve``'s options.

:func:`build_settings` returns the settings for a data folder (the SQLite database
``relay.sqlite3`` in WAL mode unless a ``postgresql://`` URL is given, the secret key
in ``secret_key`` with 0600 permissions, made on first start) and :func:`configure`
installs them (once per process) and starts Django.  Nothing here is read from the
environment except what the options name, and no secret is ever printed or logged.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..errors import RelayInputError

#: the largest upload (CSV or scenario YAML) the service accepts, bytes
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
#: login attempts per user name and address before a lock-out, and its length (hours)
LOGIN_FAILURE_LIMIT = 5
LOGIN_COOLOFF_HOURS = 0.25


def secret_key(data_dir: Path) -> str:
    """The data folder's secret key: read, or made on first start (mode 0600, never printed)."""
    path = Path(data_dir) / "secret_key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    return path.read_text().strip()


def database(data_dir: Path, url: str | None) -> dict:
    """Django's DATABASES entry of ``--db URL`` (``postgresql://user:pass@host:port/name``,
    ``sqlite:///path``) or, without one, ``DATA/relay.sqlite3``."""
    if not url:
        return sqlite_database(Path(data_dir) / "relay.sqlite3")
    u = urlparse(url)
    if u.scheme == "sqlite":
        return sqlite_database(Path(unquote(u.path)))
    if u.scheme not in ("postgresql", "postgres"):
        raise RelayInputError(f"got a {u.scheme or 'schemeless'} URL, expected postgresql://user:password@host:"
                              "port/database or sqlite:///path", source="command line", where="--db")
    if not u.path.strip("/"):
        raise RelayInputError("the URL names no database; expected postgresql://user:password@host:port/database",
                              source="command line", where="--db")
    return {"ENGINE": "django.db.backends.postgresql", "NAME": unquote(u.path.lstrip("/")),
            "USER": unquote(u.username or ""), "PASSWORD": unquote(u.password or ""),
            "HOST": u.hostname or "", "PORT": str(u.port or ""), "CONN_MAX_AGE": 60, "ATOMIC_REQUESTS": False}


def sqlite_database(path: Path) -> dict:
    """SQLite in WAL mode with foreign keys on (Django's default) and write transactions
    taken at BEGIN, so that concurrent writers queue instead of failing."""
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path),
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                        "transaction_mode": "IMMEDIATE", "timeout": 30}}


def build_settings(data_dir, db_url: str | None = None, *, host: str = "127.0.0.1", debug: bool = False) -> dict:
    """Every Django setting of the service for this data folder and database."""
    data = Path(data_dir).absolute()
    if not data.exists():
        data.mkdir(parents=True)
        data.chmod(0o700)  # the database holds password hashes, the folder the secret key
    return {
        "DEBUG": debug, "SECRET_KEY": secret_key(data), "ALLOWED_HOSTS": allowed_hosts(host),
        "DATABASES": {"default": database(data, db_url)}, "INSTALLED_APPS": INSTALLED_APPS,
        "MIDDLEWARE": MIDDLEWARE, "ROOT_URLCONF": "relay.service.urls", "TEMPLATES": templates(),
        "AUTHENTICATION_BACKENDS": ["axes.backends.AxesStandaloneBackend",
                                    "django.contrib.auth.backends.ModelBackend"],
        "PASSWORD_HASHERS": ["django.contrib.auth.hashers.Argon2PasswordHasher",
                             "django.contrib.auth.hashers.PBKDF2PasswordHasher"],
        "SESSION_COOKIE_HTTPONLY": True, "SESSION_COOKIE_SAMESITE": "Lax", "CSRF_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "relay_session", "CSRF_COOKIE_NAME": "relay_csrftoken",
        "X_FRAME_OPTIONS": "DENY", "SECURE_CONTENT_TYPE_NOSNIFF": True, "USE_TZ": True, "TIME_ZONE": "UTC",
        "DATA_UPLOAD_MAX_MEMORY_SIZE": MAX_UPLOAD_BYTES + 65536, "FILE_UPLOAD_MAX_MEMORY_SIZE": MAX_UPLOAD_BYTES,
        "AXES_FAILURE_LIMIT": LOGIN_FAILURE_LIMIT, "AXES_COOLOFF_TIME": LOGIN_COOLOFF_HOURS,
        "AXES_LOCKOUT_PARAMETERS": [["username", "ip_address"]], "AXES_RESET_ON_SUCCESS": True,
        "AXES_VERBOSE": False, "AXES_HTTP_RESPONSE_CODE": 429,
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField", "RELAY_DATA_DIR": str(data),
        "STATIC_URL": "/static/", "LOGIN_URL": "/login", "LOGGING": LOGGING,
    }


def allowed_hosts(host: str) -> list[str]:
    hosts = ["127.0.0.1", "localhost", "[::1]", "testserver"]
    if host not in ("", "0.0.0.0", "::"):
        hosts.append(host)
    else:
        hosts.append("*")
    return hosts


def templates() -> list[dict]:
    """Django's own templates (the admin) and Jinja2 for relay's pages (src/relay/templates)."""
    folder = Path(__file__).resolve().parents[1] / "templates"
    return [{"BACKEND": "django.template.backends.jinja2.Jinja2", "DIRS": [str(folder)], "APP_DIRS": False,
             "OPTIONS": {"autoescape": True}},
            {"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": True,
             "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                                "django.contrib.auth.context_processors.auth",
                                                "django.contrib.messages.context_processors.messages"]}}]


INSTALLED_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.messages", "axes", "relay.service.apps.ServiceConfig"]
#: the security headers (and X-Frame-Options) are set on every answer, kept ones included; a
#: kept answer to a script token (:class:`relay.service.apiutil.KeptAnswers`) is given before the
#: session, CSRF, authentication and messages middleware, which a bearer token's read never uses
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware",
              "django.middleware.clickjacking.XFrameOptionsMiddleware", "relay.service.apiutil.KeptAnswers",
              "django.contrib.sessions.middleware.SessionMiddleware",
              "django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware", "axes.middleware.AxesMiddleware"]
#: warnings and errors only, never a request's body or headers (no secret reaches a log); not
#: waitress's "Task queue depth is N" either, a warning for every request that waits for a
#: thread: at 20 concurrent clients on 8 threads that is most of them, and writing it cost the
#: server 0.3 ms a request
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "loggers": {"django": {"handlers": ["console"], "level": "WARNING"},
                       "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
                       "axes": {"handlers": ["console"], "level": "WARNING"},
                       "waitress.queue": {"handlers": ["console"], "level": "ERROR", "propagate": False}}}


def configure(data_dir, db_url: str | None = None, *, host: str = "127.0.0.1", **extra) -> None:
    """Install the settings and start Django (once per process; a second call is ignored)."""
    import django
    from django.conf import settings

    if settings.configured:
        return
    settings.configure(**{**build_settings(data_dir, db_url, host=host), **extra})
    django.setup()
