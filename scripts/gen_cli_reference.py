"""Print docs/cli.md: every command's --help, generated from the code."""

from __future__ import annotations

import click
import typer.core
import typer.main

from platekeeper.cli import app

typer.core.HAS_RICH = False  # plain text: the same reference whatever the terminal


def walk(command: click.Command, path: list[str]) -> None:
    ctx = click.Context(command, info_name=" ".join(path), terminal_width=100, max_content_width=100)
    print(f"## `{' '.join(path)}`\n")
    print("```text")
    print(command.get_help(ctx).rstrip())
    print("```\n")
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            walk(command.commands[name], [*path, name])


def main() -> None:
    print("# CLI reference\n")
    print("Generated from the code by `make docs` (`scripts/gen_cli_reference.py`); CI fails when it is stale.\n")
    walk(typer.main.get_command(app), ["platekeeper"])


if __name__ == "__main__":
    main()
