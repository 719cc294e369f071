"""The CLI's event loop hands a command's result back without writing it out: Python 3.11's
runner formatted the main task, result included, when it checked the Ctrl-C handler, which
for a year's reach report (400,000 rows) cost seconds and hundreds of megabytes."""

from __future__ import annotations

from publisher.cli import _run_loop


class Big:
    written_out = 0

    def __repr__(self) -> str:
        Big.written_out += 1
        return "Big"


async def _make() -> Big:
    return Big()


def test_a_commands_result_comes_back_unwritten() -> None:
    result = _run_loop(_make())
    assert isinstance(result, Big)
    assert Big.written_out == 0
