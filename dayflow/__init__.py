# The Celery app (dayflow.celery) is not imported here, so that django.setup() in a process that
# sends no task (a sync step, most management commands) does not load Celery and kombu. Our
# tasks are declared with `@app.task` on that app, so any process that imports a task to send it
# imports the app (broker and routes from settings) with it; `celery -A dayflow` finds the app in
# dayflow.celery by itself.
