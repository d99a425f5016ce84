"""The console's sidebar. An item links once its page's URL name exists."""
from django.urls import NoReverseMatch, reverse

ANALYTICS = [
    ("overview", "Overview", "◎", "overview"),
    ("performance", "Performance", "▤", "performance"),
    ("model-analytics", "Model Analytics", "◈", "model-analytics"),
    ("production", "Production Metrics", "↗", "production"),
    ("usage", "Usage & Quality", "☺", "usage"),
    ("traces", "Traces", "≡", "traces"),
    ("dashboards", "Dashboards", "▦", "dashboards"),
    ("alerts", "Alerts", "◔", "alerts"),
]
ACCOUNT = [
    ("registry", "Model registry", "⬡", "registry"),
    ("settings", "Settings", "⚙", "account-settings"),
]


def _items(entries, slug):
    items = []
    for key, label, icon, url_name in entries:
        try:
            url = reverse(url_name, kwargs={"account_slug": slug})
        except NoReverseMatch:
            url = None
        items.append({"key": key, "label": label, "icon": icon, "url": url})
    return items


def console_nav(account):
    if account is None:
        return {}
    return {"analytics": _items(ANALYTICS, account.slug), "account": _items(ACCOUNT, account.slug)}
