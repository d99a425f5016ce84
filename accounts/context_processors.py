def console(request):
    """The account the console is showing and the user's other accounts, for the layout."""
    return {
        "current_account": getattr(request, "account", None),
        "current_membership": getattr(request, "membership", None),
    }
