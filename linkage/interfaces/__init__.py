"""Where people and platforms reach linkage: the CLI, the HTTP API, the Web UI's codec server, the
demo. Nothing below imports these.
"""
