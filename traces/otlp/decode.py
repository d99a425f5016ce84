"""Decode OTLP/HTTP export bodies (protobuf or JSON, optionally gzip) into the official messages."""
import base64
import json
import zlib

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from accounts.errors import ApplicationError
from traces.services.body import MAX_BODY_BYTES

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


def gunzip_limited(body: bytes, limit: int = MAX_BODY_BYTES) -> bytes:
    """Inflate at most `limit` bytes: a small gzip bomb must not become gigabytes in memory."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ApplicationError(f"Body is not valid gzip: {exc}", {"body": ["bad gzip"]})
    if len(out) > limit or inflater.unconsumed_tail:
        raise ApplicationError("Decompressed body is larger than 10 MiB.", {}, status=413)
    return out


def _hex_ids_to_base64(node):
    """OTLP JSON writes trace and span ids as hex; protobuf's JSON mapping expects base64."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                try:
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError:
                    raise ApplicationError(f"{key} must be hex", {key: ["must be a hex string"]})
            else:
                _hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)


def decode_export_request(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    message = ExportTraceServiceRequest()
    if content_type == PROTOBUF:
        try:
            message.ParseFromString(body)
        except (DecodeError, RuntimeWarning, ValueError) as exc:
            raise ApplicationError(f"Body is not a valid OTLP protobuf message: {exc}", {"body": ["bad protobuf"]})
        return message
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ApplicationError(f"Body is not valid JSON: {str(exc)[:200]}", {"body": ["malformed JSON"]})
    _hex_ids_to_base64(document)
    try:
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise ApplicationError(f"Body is not a valid OTLP JSON message: {str(exc)[:300]}", {"body": ["bad OTLP JSON"]})
    return message


def encode_response(message, content_type: str) -> bytes:
    if content_type == PROTOBUF:
        return message.SerializeToString()
    return json_format.MessageToJson(message).encode()


def partial_success_message(errors: list, skipped: int) -> str:
    """Why spans were not stored (the first few, each named by its request id), and how many
    were skipped as not model calls."""
    notes = [f"{len(errors)} span(s) rejected: " + "; ".join(
        f"span {e['request_id']}: {e['field']} {e['message']}".strip() for e in errors[:5])] if errors else []
    if skipped:
        notes.append(f"{skipped} span(s) skipped: not model calls (no gen_ai.* attributes, an OpenInference "
                     "kind other than LLM/EMBEDDING, or a Langfuse observation other than a generation)")
    return "; ".join(notes)
