"""Enumerate every URL pattern of the project with what the isolation tests need."""
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver

# Patterns anyone may open: probes, the login flow and the public API description
# (it documents the contract and holds no account data).
PUBLIC_NAMES = {
    "healthz", "readyz", "metrics", "login", "logout", "schema", "api-docs", "api-redoc",
    "password_reset_confirm", "password_reset_complete",
}
SKIPPED_NAMESPACES = {"admin"}  # Django admin: staff only, checked separately


@dataclass
class Route:
    name: str
    pattern: str
    kwargs: list
    callback: object
    namespace: str | None = None
    methods: list = field(default_factory=list)

    @property
    def view_class(self):
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    @property
    def is_api(self) -> bool:
        # api/public/: paths other tools' SDKs send to (the Langfuse OTLP path), an API all the same.
        return self.pattern.startswith(("api/v1/", "api/public/"))

    @property
    def full_name(self) -> str:
        return f"{self.namespace}:{self.name}" if self.namespace else self.name


def _methods(callback, view_class) -> list:
    actions = getattr(callback, "actions", None)
    if actions:
        return sorted(actions)
    if view_class is not None:
        allowed = [m for m in view_class.http_method_names if m not in ("options", "head", "trace")]
        return [m for m in allowed if hasattr(view_class, m)] or ["get"]
    return ["get", "post"]


def iter_routes(resolver=None, prefix="", kwargs=(), namespace=None):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        groups = list(kwargs) + list(p.pattern.regex.groupindex)
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
            if ns in SKIPPED_NAMESPACES:
                continue
            yield from iter_routes(p, prefix + str(p.pattern), groups, ns)
        elif isinstance(p, URLPattern):
            pattern = prefix + str(p.pattern)
            if pattern.startswith(("static/", "^static/", "media/")):
                continue
            view_class = getattr(p.callback, "cls", None) or getattr(p.callback, "view_class", None)
            yield Route(
                name=p.name or "", pattern=pattern, kwargs=groups, callback=p.callback, namespace=namespace,
                methods=_methods(p.callback, view_class),
            )


def api_routes():
    return [r for r in iter_routes() if r.is_api]


def non_public_routes():
    return [r for r in iter_routes() if r.name not in PUBLIC_NAMES]
