"""Prometheus metrics of every process: the worker's (the Temporal SDK's exporter, with the
project's counters through the SDK's meter), the HTTP API's and the codec server's (`GET
/metrics`, prometheus_client), and the work's gauges, read from the records database when the
API is scraped. Every `linkage_*` name is in one table (`names`); the alert rules and the
dashboards use exactly those.

Here, below the activities, the workers and the interfaces, so that all of them count through
the same table; it reads the records as the indicators do, and imports nothing above them.
"""
