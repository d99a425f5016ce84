"""The API's JSON parser and renderer.

A JSON body may spell a lone UTF-16 surrogate (`"\\ud800"`): valid JSON, but not text — it
cannot be stored in PostgreSQL or encoded as UTF-8. The parser refuses it with a 400 naming
the field; the renderer never fails on one (it escapes instead of raising), so no error
message that quotes the input can turn into a 500."""
import json

from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

SURROGATE_REASON = "holds a lone UTF-16 surrogate (\\ud800–\\udfff), which is not text"


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def lone_surrogate_path(value, path="") -> str | None:
    """The dotted path of the first string (key or value) that is not text, or None."""
    if isinstance(value, str):
        return None if _is_text(value) else (path or "body")
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if not _is_text(str(key)):
                return path or "body"
            found = lone_surrogate_path(item, here)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = lone_surrogate_path(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


class TextJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        field = lone_surrogate_path(data)
        if field is not None:
            raise ValidationError({field: [SURROGATE_REASON]})
        return data


class SafeJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return json.dumps(data, cls=self.encoder_class, ensure_ascii=True, allow_nan=not self.strict,
                              separators=(",", ":")).encode()
