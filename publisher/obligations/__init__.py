"""Disclosure obligations: what is due, by whom, and by when (issue 13).

``workdays``  the working-day calendar every due date, reminder and "days late" is counted in.
"""
