"""What the command line shows and accepts beyond parsing: run ids as typed, tables that fit
the terminal, lineage renderings, progress, and the `plot` command."""
