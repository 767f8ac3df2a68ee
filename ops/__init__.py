"""Operating the radar: Airflow settings, the local and Celery stacks, the demo runner."""
