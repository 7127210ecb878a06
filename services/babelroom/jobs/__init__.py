"""Background jobs: the Celery app (Redis broker) and its tasks."""
