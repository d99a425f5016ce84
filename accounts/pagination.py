"""The one page shape of every API list: `limit`/`offset`, with the page size capped.

DRF's LimitOffsetPagination silently falls back to the default on a bad value and passes a
huge one straight to SQL (`bigint out of range`); here a bad value is a 400 naming it."""
from drf_spectacular.plumbing import build_basic_type, build_parameter_type
from drf_spectacular.types import OpenApiTypes
from rest_framework.pagination import LimitOffsetPagination

from accounts.params import int_param

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# Deeper than any list an account keeps; past the rows, a page is simply empty.
MAX_OFFSET = 10**9


class CappedLimitOffsetPagination(LimitOffsetPagination):
    """A view may lower `max_limit`; a page past it is a 400, not a silent cut."""

    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT

    def get_limit(self, request):
        return int_param(request.query_params, self.limit_query_param, minimum=1, maximum=self.max_limit,
                         default=min(self.default_limit, self.max_limit), what="a whole number")

    def get_offset(self, request):
        return int_param(request.query_params, self.offset_query_param, minimum=0, maximum=MAX_OFFSET,
                         default=0, what="a whole number")

    def get_schema_operation_parameters(self, view):
        def param(name, minimum, maximum, description):
            schema = build_basic_type(OpenApiTypes.INT)
            schema.update({"minimum": minimum, "maximum": maximum})
            return build_parameter_type(name=name, schema=schema, location="query", description=description)

        return [
            param(self.limit_query_param, 1, self.max_limit,
                  f"Rows per page, 1–{self.max_limit} (default {min(self.default_limit, self.max_limit)})."),
            param(self.offset_query_param, 0, MAX_OFFSET, "Rows to skip."),
        ]
