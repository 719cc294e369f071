"""The command's help is read by duty officers: it is Chinese, all the way down."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from publisher.cli import main


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


@pytest.mark.parametrize("path", _commands(main), ids=lambda p: " ".join(p) or "publisher")
def test_every_command_and_option_is_described_in_chinese(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    lines: list[str] = []
    for line in result.output.splitlines():  # a description may wrap onto the next line
        if lines and line.startswith(" " * 6) and lines[-1].startswith("  "):
            lines[-1] += line
        else:
            lines.append(line)
    described = [line for line in lines if re.match(r"^  (-|[a-z])", line)]  # options, commands
    summary = next(line for line in lines[1:] if line.strip())  # the command's own description
    for line in [summary, *described]:
        assert re.search(r"[\u4e00-\u9fff]", line), f"not described in Chinese: {line!r}"
