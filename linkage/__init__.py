"""12345 hotline and 110 police platform linkage. The layers, from the bottom: settings, domain,
trust, records, triage and assessment, then the workflows and activities (top-level packages),
the client and the worker, ops, interfaces (docs/architecture.md).
"""
