"""End-to-end tests: real publisher processes over loopback."""
