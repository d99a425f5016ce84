"""Django's error views, answering JSON under /api/ (the API's `{"message", "errors"}` shape)
and the usual pages elsewhere.

DRF renders errors raised inside its views; these cover what happens outside them: a path
no route matches (`/api/v1/exports/0.5/cancel`), an exception that escaped, a request Django
refuses before any view (bad Host, body too large), and a CSRF failure."""
from django.http import JsonResponse
from django.views import defaults
from django.views.csrf import csrf_failure as html_csrf_failure

API_PREFIX = "/api/"


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def api_error(message: str, status: int, errors: dict | None = None) -> JsonResponse:
    return JsonResponse({"message": message, "errors": errors or {}}, status=status)


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    if is_api(request):
        return api_error("Bad request.", 400)
    return defaults.bad_request(request, exception, template_name)


def permission_denied(request, exception, template_name=defaults.ERROR_403_TEMPLATE_NAME):
    if is_api(request):
        return api_error("You do not have permission to perform this action.", 403)
    return defaults.permission_denied(request, exception, template_name)


def page_not_found(request, exception, template_name=defaults.ERROR_404_TEMPLATE_NAME):
    if is_api(request):
        return api_error("Not found.", 404)
    return defaults.page_not_found(request, exception, template_name)


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    if is_api(request):
        return api_error("Server error.", 500)
    return defaults.server_error(request, template_name)


def csrf_failure(request, reason=""):
    if is_api(request):
        return api_error("CSRF check failed.", 403, {"csrf": [reason]} if reason else None)
    return html_csrf_failure(request, reason)
