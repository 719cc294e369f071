"""Recurring schedules (issue 13): notices posted by a cron expression, once per fire.

``model``   what a schedule is: its name, cron expression, notice template and data glob;
            the file of schedules (``config/schedules.toml``); the title's placeholders
``data``    the data file of a fire: found in the inbox, read (CSV or XLSX), moved aside
``runner``  firing: which fires are due, claiming each once, making and submitting the notice
``views``   what ``schedule list``, the API and ``doctor`` show; adding and removing
``serve``   ``publisher serve``: a CronTrigger job per schedule and a minute's sweep

A schedule comes from ``config/schedules.toml`` (the ``schedules_file`` setting; read again at
every fire) or from the database (``publisher schedule add``, ``POST /api/schedules``).
``publisher serve`` fires them (``attach`` on its scheduler); every fire is claimed as
(schedule, fire time) in ``schedule_fires``, so two servers or a restart never post twice.
"""
