"""Celery tasks of budgets: thin wrappers (beat entry in config/settings.py)."""
from celery import shared_task


@shared_task(ignore_result=True)
def budgets_check_task():
    """Every few minutes: announce the budget thresholds crossed this month, once each."""
    from budgets.services import budgets_check

    budgets_check()
