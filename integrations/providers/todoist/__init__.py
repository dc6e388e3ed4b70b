"""Todoist: everything DayFlow knows about the service lives in this package."""
