"""Console pages under /a/<account>/budgets/ (included from accounts/console_urls.py)."""
from django.urls import path

from budgets import views

urlpatterns = [
    path("", views.BudgetsPage.as_view(), name="budgets"),
    path("<int:pk>/", views.BudgetPage.as_view(), name="budget"),
]
