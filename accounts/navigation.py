"""The console's sidebar. An item links once its page's URL name exists; until then it
is shown muted, so the product's shape is visible without dead links."""
from django.urls import NoReverseMatch, reverse

# (key, label, icon in static/console/icons.svg, URL name)
SECTIONS = [
    ("Analytics", [
        ("overview", "Overview", "overview", "overview"),
        ("performance", "Performance", "performance", "performance"),
        ("model-analytics", "Model Analytics", "model-analytics", "model-analytics"),
        ("production", "Production", "production", "production"),
        ("usage", "Usage & Quality", "usage", "usage"),
        ("traces", "Traces", "traces", "traces"),
    ]),
    ("Operate", [
        ("alerts", "Alerts", "alerts", "alerts"),
        ("dashboards", "Dashboards", "dashboards", "dashboards"),
        ("budgets", "Budgets", "budgets", "budgets"),
    ]),
    ("Account", [
        ("registry", "Model registry", "registry", "registry"),
        ("settings", "Settings", "settings", "account-settings"),
    ]),
]


def _url(url_name, slug):
    try:
        return reverse(url_name, kwargs={"account_slug": slug})
    except NoReverseMatch:
        return None


def console_nav(account):
    if account is None:
        return []
    return [
        {"title": title, "items": [{"key": key, "label": label, "icon": icon, "url": _url(url_name, account.slug)}
                                   for key, label, icon, url_name in entries]}
        for title, entries in SECTIONS
    ]
