"""The REST API's shared parts: token authentication, throttles, cursor pages, the JSON parser
and the typed-error handler. Each app keeps its own endpoints in its `api/` package
(serializers, views, urls); `dayflow/api/urls.py` mounts them all under `/api/`."""
