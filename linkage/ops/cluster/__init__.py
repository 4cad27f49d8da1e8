"""A real multi-service Temporal cluster on this machine, from the Go module and PostgreSQL:
built once and cached, its databases made with Temporal's own schema tool, closed with JWT
authorization, and the project's workers, API instances and codec server beside it."""
