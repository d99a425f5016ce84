"""Export jobs (X5): an explorer selection streamed to a CSV or JSONL file by a Celery worker."""
