"""Disclosure obligations: what is due, by whom, and by when (issue 13; docs/obligations.md).

``workdays``   the working-day calendar every due date, reminder and "days late" is counted in
``spec``       an obligation's definition, and the file that seeds them
``periods``    data periods and due dates (or why a due date cannot be computed)
``status``     met / late from the store: the late list
``summary``    the monthly "who was late" summary per department
``reminders``  reminders over OA, each sent once
``freshness``  days since the last post of every account and portal category
``jobs``       the scheduled run in ``publisher serve`` and the lines of ``doctor``
"""
