"""The audit log's REST endpoints (mounted under /api/ by dayflow/urls.py)."""
