"""OPTIONS answers for every API view, including views with no serializer (ingest), which DRF's
SimpleMetadata cannot describe (it raised, answering 500)."""
from rest_framework.metadata import SimpleMetadata


class ApiMetadata(SimpleMetadata):
    def determine_actions(self, request, view):
        if getattr(view, "serializer_class", None) is None and "get_serializer_class" not in type(view).__dict__:
            return {}
        return super().determine_actions(request, view)
