"""Helpers for console page tests: logged-in clients and the console's own URL patterns."""
import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from accounts.views import HOME_PAGES

from tests.accounts.urlwalk import iter_routes
from tests.factories import FACTORIES

# The pages this part of the console owns: settings and the registry.
OWN_NAMES = ("account-", "registry")


def console_routes():
    return [r for r in iter_routes() if r.pattern.startswith("a/") and r.name.startswith(OWN_NAMES)]


def route_model(route):
    initkwargs = getattr(route.callback, "view_initkwargs", {}) or {}
    return initkwargs.get("model") or getattr(route.view_class, "model", None)


def home_of(account):
    """The account's console home: the first page of HOME_PAGES that is installed."""
    for name in HOME_PAGES:
        try:
            return reverse(name, kwargs={"account_slug": account.slug})
        except NoReverseMatch:
            continue


@pytest.fixture
def login():
    def make(user):
        client = Client()
        client.force_login(user)
        return client
    return make


@pytest.fixture
def console_urls(db):
    """console_urls(account) -> [(route, url, methods)] for every settings/registry pattern,
    with a row of the account behind every <pk>."""
    def make(account, marker="PAGEROW"):
        rows = {}
        urls = []
        for route in console_routes():
            kwargs = {"account_slug": account.slug}
            if "pk" in route.kwargs:
                model = route_model(route)
                if model not in rows:
                    rows[model] = FACTORIES[model](account, marker)
                kwargs["pk"] = rows[model].pk
            urls.append((route, reverse(route.name, kwargs=kwargs), route.methods))
        return urls
    return make
