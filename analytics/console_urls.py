"""Console pages of the dashboards, under /a/<account_slug>/ (included by accounts.console_urls)."""
from django.urls import path

from analytics import console_views as views

urlpatterns = [
    path("overview/", views.OverviewPage.as_view(), name="overview"),
    path("performance/", views.PerformancePage.as_view(), name="performance"),
    path("models/", views.ModelAnalyticsPage.as_view(), name="model-analytics"),
    path("production/", views.ProductionPage.as_view(), name="production"),
    path("usage/", views.UsagePage.as_view(), name="usage"),
    path("dashboards/", views.DashboardsPage.as_view(), name="dashboards"),
    path("dashboards/new/", views.DashboardNewPage.as_view(), name="dashboard-new"),
    path("dashboards/<int:pk>/", views.DashboardViewPage.as_view(), name="dashboard-view"),
    path("dashboards/<int:pk>/edit/", views.DashboardEditPage.as_view(), name="dashboard-edit"),
]
