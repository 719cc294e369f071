"""People's retry: send a delivery again without posting it twice.

A delivery in ``needs_review`` may already be on the channel (the last attempt's outcome was
never known). Where the channel can tell (lookup) or honours our key, the retry hands it to
the worker's reconcile path, which asks before it sends; elsewhere only a person who checked
may force it (``--force`` / ``"force": true``), and the refusal says why.
"""

from __future__ import annotations

from publisher.contract import Idempotency
from publisher.errors import UnknownChannelError
from publisher.registry import Channels
from publisher.store.base import Store
from publisher.store.records import DeliveryRecord


def can_reconcile(channels: Channels, account: str) -> bool:
    """Whether an unknown outcome on ``account`` can be settled without a person: the
    channel answers lookups, or re-posting under our key is safe."""
    try:
        idempotency = channels.get(account).capabilities.idempotency
    except UnknownChannelError:
        return False  # no longer configured: nobody can ask it
    return idempotency in (Idempotency.LOOKUP, Idempotency.REMOTE_KEY)


async def retry(
    store: Store, channels: Channels, delivery_id: int, actor: str, *, force: bool = False
) -> DeliveryRecord:
    """Queue a failed, cancelled or needs-review delivery again (see ``QueueStore.retry``).

    Raises NotFoundError, or StateError (its state allows no retry; a needs-review delivery
    on a channel that cannot be asked, without ``force``).
    """
    delivery = await store.get_delivery(delivery_id)
    reconcile = can_reconcile(channels, delivery.account)
    return await store.retry(delivery_id, actor, reconcile=reconcile, force=force)
