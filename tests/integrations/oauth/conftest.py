from tests.integrations.oauth.fixtures import make_connection, no_backoff, oauth_clients

__all__ = ["make_connection", "no_backoff", "oauth_clients"]
