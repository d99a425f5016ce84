"""Read and decode a JSON request body within limits, before anything big is in memory."""
import json

import msgspec

from accounts.errors import ApplicationError

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_ITEMS = 1000


def read_limited_body(request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, refusing with 413 from Content-Length, or while reading when it lies."""
    django_request = getattr(request, "_request", request)
    try:
        declared = int(django_request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApplicationError("Content-Length must be an integer.", {"Content-Length": ["not an integer"]})
    if declared > limit:
        raise ApplicationError(f"Request body is larger than {limit // (1024 * 1024)} MiB.", {}, status=413)
    body = django_request.read(limit + 1)
    if len(body) > limit:
        raise ApplicationError(f"Request body is larger than {limit // (1024 * 1024)} MiB.", {}, status=413)
    return body


def decode_json_body(body: bytes):
    """Fast path: msgspec. Slow path (NaN/Infinity literals, invalid UTF-8) keeps the
    batch alive so that only the affected items are rejected."""
    try:
        return msgspec.json.decode(body)
    except RecursionError:
        raise ApplicationError("Body is not valid JSON: nested too deeply.", {"body": ["nested too deeply"]})
    except (msgspec.DecodeError, UnicodeDecodeError):
        pass
    try:
        # Undecodable bytes become lone surrogates, which validation reports per item.
        return json.loads(body.decode("utf-8", errors="surrogateescape"))
    except (ValueError, RecursionError) as exc:
        raise ApplicationError(f"Body is not valid JSON: {str(exc)[:200]}", {"body": ["malformed JSON"]})


def batch_items(document, key: str) -> list:
    if not isinstance(document, dict) or not isinstance(document.get(key), list):
        raise ApplicationError(f"Body must be an object with a '{key}' list.", {key: ["required list"]})
    items = document[key]
    if len(items) > MAX_ITEMS:
        raise ApplicationError(f"At most {MAX_ITEMS} items per batch; got {len(items)}.", {key: ["too many"]},
                               status=413)
    return items
