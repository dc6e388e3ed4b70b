import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dayflow.settings")
application = get_wsgi_application()

# The routes (and with them the admin's registrations) load as the server starts, not on the
# first request.
import dayflow.urls  # noqa: E402, F401
