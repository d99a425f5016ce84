"""One LLM instrumentation library, set up as its docs say, making real client calls.

Run as `python otlp_library_client.py <library>` in its own process (the libraries patch
the clients globally and some set the global tracer provider, so they cannot share one).
Environment: FAKE_LLM_URL (the fake provider), MP_URL (the ModelPulse base URL), MP_KEY
(an ingest API key). Each library makes one successful call, with user and session where
it can send them, and one call the provider fails (500 or 429).
"""
import os
import sys

FAKE = os.environ["FAKE_LLM_URL"]
MP_URL = os.environ["MP_URL"]
MP_KEY = os.environ["MP_KEY"]
OTLP_TRACES = f"{MP_URL}/api/v1/otlp/v1/traces"
USER, SESSION = "user-42", "session-7"
MESSAGES = [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is the capital of France?"}]


def openai_client():
    from openai import OpenAI

    return OpenAI(base_url=f"{FAKE}/v1", api_key="sk-fake", max_retries=0)


def chat_calls(client, fail_model="gpt-4o-mini-fail-500", **extra):
    """The successful call, then the failing one (its exception is expected)."""
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, **extra)
    try:
        client.chat.completions.create(model=fail_model, messages=MESSAGES, **extra)
    except Exception:  # noqa: BLE001 — the provider's error is the point of this call
        pass


def sdk_provider(service):
    """The plain OpenTelemetry SDK set-up the openai-v2 / OpenLLMetry / OpenInference docs show."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
        endpoint=OTLP_TRACES, headers={"Authorization": f"Bearer {MP_KEY}"})))
    trace.set_tracer_provider(provider)
    return provider


def run_openai_v2():
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    provider = sdk_provider("openai-v2-app")
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    chat_calls(openai_client())
    provider.shutdown()


def run_traceloop():
    """OpenLLMetry's openai and anthropic instrumentations (without the traceloop-sdk wrapper,
    which adds user/session as association properties: those are mapped too, not tested here)."""
    from anthropic import Anthropic
    from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    provider = sdk_provider("traceloop-app")
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    AnthropicInstrumentor().instrument(tracer_provider=provider)
    chat_calls(openai_client(), fail_model="gpt-4o-mini-fail-429")
    Anthropic(base_url=FAKE, api_key="sk-fake", max_retries=0).messages.create(
        model="claude-3-5-haiku", max_tokens=64, system="Be brief.", messages=MESSAGES[1:])
    provider.shutdown()


def run_openlit():
    import json
    import tempfile

    import openlit
    from opentelemetry import trace

    # A local pricing file: without one OpenLIT downloads its price list from the internet.
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as pricing:
        json.dump({"chat": {}}, pricing)
    openlit.init(otlp_endpoint=f"{MP_URL}/api/v1/otlp", otlp_headers={"Authorization": f"Bearer {MP_KEY}"},
                 service_name="openlit-app", disable_metrics=True, disable_events=True, pricing_json=pricing.name,
                 disabled_instrumentors=["requests", "urllib3", "urllib", "httpx", "django"])
    # OpenLIT records the OpenAI `user` parameter (gen_ai.request.user); it has no session.
    chat_calls(openai_client(), user=USER)
    trace.get_tracer_provider().shutdown()


def run_openinference():
    from openinference.instrumentation import using_attributes
    from openinference.instrumentation.openai import OpenAIInstrumentor

    provider = sdk_provider("openinference-app")
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    with using_attributes(user_id=USER, session_id=SESSION):
        chat_calls(openai_client())
    provider.shutdown()


def run_langfuse():
    """Langfuse v3+: only LANGFUSE_BASE_URL changes (set by the test, with the keys)."""
    from langfuse import get_client, propagate_attributes
    from langfuse.openai import OpenAI

    client = OpenAI(base_url=f"{FAKE}/v1", api_key="sk-fake", max_retries=0)
    langfuse = get_client()
    with langfuse.start_as_current_observation(as_type="span", name="answer-question"):
        with propagate_attributes(user_id=USER, session_id=SESSION):
            chat_calls(client)
    langfuse.shutdown()


if __name__ == "__main__":
    globals()[f"run_{sys.argv[1]}"]()
