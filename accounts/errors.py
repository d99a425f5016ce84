"""One application error type and one DRF exception handler: `{"message", "errors"}`."""
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions


class ApplicationError(Exception):
    """A business rule said no. Rendered as 400 (or `status`) with message and details."""

    def __init__(self, message: str, errors: dict | None = None, status: int = 400, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.status = status
        self.headers = headers or {}


def api_exception_handler(exc, context):
    # Imported here: rest_framework.views imports the authentication classes, which
    # import the services that raise ApplicationError.
    from rest_framework.views import exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, ApplicationError):
        exc_obj = exceptions.APIException(exc.message)
        exc_obj.status_code = exc.status
        response = exception_handler(exc_obj, context)
        response.data = {"message": exc.message, "errors": exc.errors}
        for name, value in exc.headers.items():
            response[name] = value
        return response

    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        message = "Invalid input."
        if isinstance(data, dict) and list(data) == ["non_field_errors"]:
            message = str(data["non_field_errors"][0])
        response.data = {"message": message, "errors": data if isinstance(data, dict) else {"detail": data}}
    elif isinstance(data, dict) and "detail" in data:
        response.data = {"message": str(data["detail"]), "errors": {}}
    return response
