"""OAuth 2.0 connect flows: social-core backends, the connect strategy and pipeline."""
