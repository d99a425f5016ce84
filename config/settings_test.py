"""Test settings: real PostgreSQL and Redis — from the environment, else the local
services on 127.0.0.1, else the embedded ones started here."""
import os
from pathlib import Path

from config import embedded

_data = Path(os.environ.get("MODELPULSE_DATA_DIR", Path(__file__).resolve().parent.parent / ".data"))

_force_embedded = os.environ.get("MODELPULSE_TEST_EMBEDDED") == "1"

if not os.environ.get("DATABASE_URL"):
    if not _force_embedded and embedded.tcp_answers("127.0.0.1", 5432):
        os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/modelpulse"
    else:
        # Settings fall back to the embedded server's socket under the data folder.
        embedded.ensure_postgres(_data)
if not os.environ.get("REDIS_URL"):
    if not _force_embedded and embedded.tcp_answers("127.0.0.1", 6379):
        os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    else:
        embedded.ensure_redis(_data)
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ["MODELPULSE_DATA_DIR"] = str(_data)

from config import test_isolation  # noqa: E402

# A Redis database and a PostgreSQL test database of this run's own (config/test_isolation.py).
os.environ["REDIS_URL"] = test_isolation.claim_redis_db(os.environ.get("REDIS_URL") or embedded.redis_url(_data))

from config.settings import *  # noqa: E402,F403

DATABASES["default"]["TEST"] = {"NAME": f"test_modelpulse_{test_isolation.database_suffix()}"}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# The read limit is tested on its own (tests/accounts/test_signin_throttle.py); the URL walk and
# the schema fuzz test read far more than a minute's budget with one key.
API_READ_RATE_LIMIT_PER_MINUTE = 0
