"""Issue 20: the real LLM instrumentation libraries, unchanged, send to a live ModelPulse.

Each library runs in its own process (tests/traces/otlp_library_client.py) with the real
`openai` / `anthropic` clients against a fake provider on 127.0.0.1 (tests/traces/fake_llm.py)
and exports OTLP to the live server. Any other outbound call goes to a dead proxy, so no
library reaches the internet (OpenLIT is also given a local pricing file).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.services import Actor, account_create, api_key_create
from tests.traces.fake_llm import ANSWER, COMPLETION_TOKENS, DELAY_S, PROMPT_TOKENS, FakeProvider
from traces.models import Trace

pytestmark = pytest.mark.django_db(transaction=True)
CLIENT = Path(__file__).with_name("otlp_library_client.py")
QUESTION = "What is the capital of France?"
USER, SESSION = "user-42", "session-7"

# Per library: (service.name, the traces expected by model: (provider, status, error_type, http_status),
#               user and session sent, extra env).
LIBRARIES = {
    "openai_v2": ("openai-v2-app", {"gpt-4o-mini": ("openai", "success", "", None),
                                    "gpt-4o-mini-fail-500": ("openai", "failure", "llm_error", 500)},
                  (None, None),
                  # Content on the span (not in log events) is the instrumentation's opt-in.
                  {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
                   "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"}),
    "traceloop": ("traceloop-app", {"gpt-4o-mini": ("openai", "success", "", None),
                                    "gpt-4o-mini-fail-429": ("openai", "failure", "rate_limit", 429),
                                    "claude-3-5-haiku": ("anthropic", "success", "", None)},
                  (None, None), {}),
    "openlit": ("openlit-app", {"gpt-4o-mini": ("openai", "success", "", None),
                                "gpt-4o-mini-fail-500": ("openai", "failure", "llm_error", 500)},
                (USER, None), {}),  # OpenLIT records `user` and the text on successful calls only
    "openinference": ("openinference-app", {"gpt-4o-mini": ("openai", "success", "", None),
                                            "gpt-4o-mini-fail-500": ("openai", "failure", "llm_error", 500)},
                      (USER, SESSION), {}),
    "langfuse": ("unknown_service:python", {"gpt-4o-mini": ("openai", "success", "", None),
                                            "gpt-4o-mini-fail-500": ("openai", "failure", "llm_error", 500)},
                 (USER, SESSION), {}),
}


@pytest.fixture(scope="module")
def provider():
    with FakeProvider() as fake:
        yield fake


def run_library(library, live_server, provider, key, extra_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LANGFUSE_", "OPENAI_", "ANTHROPIC_"))}
    env.update({
        "FAKE_LLM_URL": provider.url, "MP_URL": live_server.url, "MP_KEY": key,
        # Anything not on this machine goes to a closed port and fails at once.
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost",
        "LANGFUSE_BASE_URL": live_server.url, "LANGFUSE_PUBLIC_KEY": "pk-lf-kept-from-langfuse",
        "LANGFUSE_SECRET_KEY": key, "PYTHONPATH": "",
        **extra_env,
    })
    done = subprocess.run([sys.executable, str(CLIENT), library], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("library", LIBRARIES)
def test_library_calls_become_traces(library, live_server, provider):
    account, _, _ = account_create(slug=f"lib-{library.replace('_', '-')}", name=library,
                                   owner_email=f"o@{library.replace('_', '-')}.test")
    key = api_key_create(account, Actor.system(), scopes=["ingest"])[1]
    bystander, _, _ = account_create(slug="bystander", name="Bystander", owner_email="o@bystander.test")
    source, expected, (user, session), extra_env = LIBRARIES[library]

    run_library(library, live_server, provider, key, extra_env)

    traces = {t.model.name: t for t in Trace.objects.for_account(account).select_related("model")}
    assert sorted(traces) == sorted(expected), [t.metadata.get("span_name") for t in traces.values()]
    assert not Trace.objects.for_account(bystander).exists()
    for model, (provider_name, status, error_type, http_status) in expected.items():
        t = traces[model]
        assert (t.provider, t.status, t.error_type or "", t.source) == (provider_name, status, error_type, source), model
        assert DELAY_S * 1000 <= t.response_time_ms < 10_000, (model, t.response_time_ms)
        if status == "success" or library != "openlit":
            assert (t.user_id or None, t.session_id or None) == (user, session), model
            assert t.input == QUESTION and t.request_payload["messages"], model
        assert QUESTION not in json.dumps(t.metadata), "message text must not leak into metadata"
        if status == "success":
            assert (t.input_tokens, t.output_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS), model
            assert t.output == ANSWER and t.response_payload["messages"], model
        else:
            assert t.http_status == http_status and not t.output, model
    if library == "openlit":  # the one that sends gen_ai.server.time_to_first_token
        assert 0 < traces["gpt-4o-mini"].ttft_ms <= traces["gpt-4o-mini"].response_time_ms
