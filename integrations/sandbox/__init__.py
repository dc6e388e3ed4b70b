"""The sandbox: small, stateful emulators of the services, served by this project over HTTP.

Each module emulates one service (its OAuth endpoints, the part of its API the providers use,
its rate limits and its signed webhooks) over the tables in `models.py`. The product never
imports this package; it reaches the emulators through the providers' base URLs. Off unless
DAYFLOW_SANDBOX is on, and always off behind an https PUBLIC_URL (`gate.py`).
"""
