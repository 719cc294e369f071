"""Delivery states now live on the bottom floor (:mod:`publisher.states`); re-exported here."""

from __future__ import annotations

from publisher.states import CANCELLABLE, FINAL, IN_FLIGHT, RETRYABLE, Status, notice_status

__all__ = ["CANCELLABLE", "FINAL", "IN_FLIGHT", "RETRYABLE", "Status", "notice_status"]
