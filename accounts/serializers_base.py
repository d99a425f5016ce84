from rest_framework import serializers


class AccountRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference to another row of the same account; others' ids read as 'not found'."""

    default_error_messages = {
        "does_not_exist": "No such object in this account (id {pk_value}).",
        "incorrect_type": "Expected an integer id, got {data_type}.",
    }

    def get_queryset(self):
        account = self.context.get("account")
        if account is None:
            return self.queryset.none()
        return self.queryset.filter(account=account)
