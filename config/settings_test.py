"""Test settings: real PostgreSQL and Redis — from the environment, else the local
services on 127.0.0.1, else the embedded ones started here."""
import os
from pathlib import Path

from config import embedded

_data = Path(os.environ.get("MODELPULSE_DATA_DIR", Path(__file__).resolve().parent.parent / ".data"))

if not os.environ.get("DATABASE_URL"):
    if embedded.tcp_answers("127.0.0.1", 5432):
        os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/modelpulse"
    else:
        embedded.ensure_postgres(_data)
        os.environ["DATABASE_URL"] = f"postgres://postgres@{str(embedded.pg_dir(_data)).replace('/', '%2F')}/postgres"
if not os.environ.get("REDIS_URL"):
    if embedded.tcp_answers("127.0.0.1", 6379):
        os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/9"
    else:
        os.environ["REDIS_URL"] = f"unix://{embedded.ensure_redis(_data)}?db=9"
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
