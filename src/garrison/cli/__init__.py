"""The `garrison` command line (Typer); one file a command group."""
