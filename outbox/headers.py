"""The header that tells the outbox which account a message belongs to."""

ACCOUNT_HEADER = "X-ModelPulse-Account"


def account_headers(account) -> dict:
    """Headers for every mail sent on behalf of an account (report, alert, invitation)."""
    return {ACCOUNT_HEADER: account.slug} if account is not None else {}
