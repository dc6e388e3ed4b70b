"""The sync engine's REST endpoints (mounted under /api/ by dayflow/urls.py)."""
