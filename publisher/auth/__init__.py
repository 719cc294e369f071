"""People and what they may do: roles, secrets (passwords, tokens), permissions, throttling.

roles.py        the role codes and their Chinese names
secrets.py      password hashing (argon2) and personal API tokens (stored as sha256)
permissions.py  the ONE table of which roles may call which API route or CLI command
throttle.py     failed token (and, later, login) attempts per address and per user name
"""
