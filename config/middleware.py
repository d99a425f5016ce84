from django.utils import timezone


class ResetTimezoneMiddleware:
    """Console pages activate the account's timezone; make sure it never outlives its
    request, so the next request served by the same thread starts from UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
