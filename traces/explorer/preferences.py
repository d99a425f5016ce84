"""What the explorer remembers per user and account (002): the last model selection and the
hidden columns. Read by the console page, written when the user changes either."""
from accounts.errors import ApplicationError
from traces.explorer.columns import TOGGLEABLE
from traces.models import ExplorerPreference

SELECTION_KEYS = {"model": str, "deployment_id": int, "version_id": int, "connection_id": int}


def preference_get(account, user) -> dict:
    found = ExplorerPreference.objects.for_account(account).filter(user=user).first()
    if found is None:
        return {"selection": {}, "hidden_columns": []}
    return {"selection": found.selection, "hidden_columns": found.hidden_columns}


def preference_save(account, user, data) -> dict:
    """Replace the parts given ({"selection": {...}} and/or {"hidden_columns": [...]}); 400 on bad input."""
    if not isinstance(data, dict) or not set(data) <= {"selection", "hidden_columns"} or not data:
        raise ApplicationError("Send {\"selection\": {...}} and/or {\"hidden_columns\": [...]}.",
                               {"body": ["expected selection and/or hidden_columns"]})
    values = {}
    if "selection" in data:
        selection = data["selection"]
        if not isinstance(selection, dict):
            raise ApplicationError("selection must be an object.", {"selection": ["must be an object"]})
        clean = {}
        for key, value in selection.items():
            kind = SELECTION_KEYS.get(key)
            if kind is None:
                raise ApplicationError(f"Unknown selection key '{str(key)[:40]}'.",
                                       {"selection": [f"use {', '.join(SELECTION_KEYS)}"]})
            if value in (None, ""):
                continue
            if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise ApplicationError(f"{key} must be an id.", {f"selection.{key}": ["must be an integer"]})
            if kind is str and (not isinstance(value, str) or len(value) > 200 or "\x00" in value):
                raise ApplicationError(f"{key} must be a name.", {f"selection.{key}": ["at most 200 characters"]})
            clean[key] = value
        values["selection"] = clean
    if "hidden_columns" in data:
        hidden = data["hidden_columns"]
        if not isinstance(hidden, list) or not all(isinstance(c, str) and c in TOGGLEABLE for c in hidden):
            raise ApplicationError("hidden_columns must list columns the visibility menu toggles.",
                                   {"hidden_columns": [f"use {', '.join(TOGGLEABLE)}"]})
        values["hidden_columns"] = sorted(set(hidden), key=TOGGLEABLE.index)
    ExplorerPreference.objects.update_or_create(account=account, user=user, defaults=values)
    return preference_get(account, user)
