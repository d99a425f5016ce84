from accounts.navigation import console_nav


def console(request):
    """The sidebar for the account the console is showing."""
    account = getattr(request, "account", None)
    return {"console_nav": console_nav(account)} if account is not None else {}
