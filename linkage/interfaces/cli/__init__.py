"""`linkage`, the command line: `main` and a module per command group."""
