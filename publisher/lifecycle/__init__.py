"""Follow-ups of published notices (issue 11, part B): update, lift (解除), withdraw (撤回).

``service`` takes them in (checks, routing, rendering with ``notice.follows``), ``content``
writes what a lift or withdrawal says and the ``follows`` mapping, ``expiry`` posts a lift at
a warning's ``valid_until`` for the accounts that ask for it. The store side is
:mod:`publisher.store.lifecycle`.
"""

from publisher.lifecycle.service import Lifecycle

__all__ = ["Lifecycle"]
