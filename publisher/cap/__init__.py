"""CAP 1.2 intake: warnings from the meteorological office, taken in as ``weather_warning``.

``parse`` reads a document safely and checks it against the OASIS schema; ``signals`` reads
the CMA signal type and colour; ``mapping`` turns the alert into a notice (or refuses it
in one line); ``intake`` is the one path the ways in share (``publisher warn``,
``POST /api/warnings``, and ``poll``, the feed poller that ``publisher serve`` runs).
"""
