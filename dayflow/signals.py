"""Signals of the planner's own life cycle, for apps that keep data about a person."""

from django.dispatch import Signal

# Sent before a person's account and data are erased: receivers remove or anonymize what they
# keep about the person. Arguments: user_id (int).
user_erasing = Signal()
