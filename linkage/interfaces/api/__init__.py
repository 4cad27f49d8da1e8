"""`linkage serve`: the HTTP API and its errors."""
