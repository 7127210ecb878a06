"""The secrets the test Janus instances run with."""

API_SECRET = "test-api-secret"
ADMIN_KEY = "test-admin-key"
