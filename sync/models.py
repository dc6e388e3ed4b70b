"""Models of the sync app."""
