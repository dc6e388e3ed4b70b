"""The integrations' REST endpoints (mounted under /api/ by dayflow/urls.py)."""
