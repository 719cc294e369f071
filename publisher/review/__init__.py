"""The review chain before release (先审后发, 三审三校).

steps.py   the ``review_steps`` setting: which kinds are reviewed, in which steps, by whom;
           the duty officer's fast path for orange and red warnings
desk.py    deciding (approve / reject), revising, listing what awaits someone, telling the
           next reviewer over OA, and the record of who drafted, reviewed, signed, released
intake.py  how Intake stores a notice that needs review (held, or released on the fast path)

Decisions taken here (see README "Review chain"):

* The chain applies to every notice of a configured kind however it arrives (API, CLI,
  schedule, CAP) and whoever submits it: admins, the service token and the CLI's
  ``operator`` included. The only exception is the fast path.
* Only a named, enabled user decides a step: one holding the step's role, or named in its
  ``users``. ``admin`` does not stand in for a reviewer or a signer, and the service token
  and ``operator`` cannot decide.
* The steps are fixed when a notice is submitted (and again when it is revised): a settings
  change does not move a notice already under review.
"""
