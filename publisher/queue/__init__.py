"""The queue: fan-out at submit, workers that claim, send, retry and reconcile."""
