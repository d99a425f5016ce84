"""The alerts tests' real servers (SMTP, HTTP on 127.0.0.1) for budget alerts."""
from tests.alerts.conftest import http_receiver, smtp_server  # noqa: F401
