"""The web server: JSON API, health, the sandbox; later the console and the portal."""
