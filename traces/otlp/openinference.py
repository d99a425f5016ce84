"""OpenInference spans (Arize Phoenix's instrumentations).

Only spans of kind LLM (and EMBEDDING, which is a model call too) become traces; chains,
retrievers, tools, agents… are steps around the model call and are skipped.
"""
import re

from traces.otlp.text import as_messages, parse_json

KIND = "openinference.span.kind"
MODEL_CALL_KINDS = {"LLM", "EMBEDDING"}
_INDEXED = re.compile(r"^llm\.(input|output)_messages\.(\d+)\.message\.(role|content)$")


def is_openinference(attrs: dict) -> bool:
    return KIND in attrs


def is_model_call(attrs: dict) -> bool:
    return str(attrs.get(KIND) or "").upper() in MODEL_CALL_KINDS


def _requested_model(attrs: dict):
    """A failed call has no llm.model_name (it comes from the response): the request names it."""
    parameters = parse_json(attrs.get("llm.invocation_parameters"))
    return parameters.get("model") if isinstance(parameters, dict) else None


def fields(attrs: dict) -> dict:
    return {
        "model": attrs.get("llm.model_name") or attrs.get("embedding.model_name") or _requested_model(attrs),
        # llm.provider is the host (openai, azure…), llm.system the API family: prefer the host.
        "provider": attrs.get("llm.provider") or attrs.get("llm.system"),
        "input_tokens": attrs.get("llm.token_count.prompt"),
        "output_tokens": attrs.get("llm.token_count.completion"),
    }


def _indexed(attrs: dict) -> tuple[list, list]:
    sides = {"input": {}, "output": {}}
    for key, value in attrs.items():
        match = _INDEXED.match(key)
        if match:
            side, index, part = match.groups()
            sides[side].setdefault(int(index), {})[part] = value
    return tuple([{"role": m.get("role") or "", "content": str(m.get("content") or "")}
                  for _, m in sorted(sides[side].items())] for side in ("input", "output"))


def messages(attrs: dict) -> tuple[list, list]:
    """The indexed llm.*_messages, else input.value / output.value (JSON bodies or text)."""
    sent, received = _indexed(attrs)
    return (sent or as_messages(attrs.get("input.value"), "user"),
            received or as_messages(attrs.get("output.value"), "assistant"))


def metadata(attrs: dict) -> dict:
    return {k: v for k, v in attrs.items() if k.startswith(("llm.", "openinference.")) and not k.startswith(
        ("llm.input_messages", "llm.output_messages", "llm.prompts")) and isinstance(v, (str, int, float, bool))}
