"""Alerts services: rules and channels, evaluation, notification, delivery, SLAs, reports."""
