"""Outlook (Microsoft Graph): everything DayFlow knows about the service lives in this package."""
