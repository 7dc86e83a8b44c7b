"""Entry point. The only place exceptions become exit codes."""

from __future__ import annotations

import sys

import click

from mcukit.errors import McukitError


def main(argv: list[str] | None = None) -> int:
    from mcukit.cli import cli

    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="mcukit", standalone_mode=False)
    except McukitError as err:
        if debug:
            raise
        click.secho(f"error: {err.message}", fg="red", err=True)
        if err.hint:
            click.secho(f"  fix: {err.hint}", err=True)
        return err.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Exit as err:
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
