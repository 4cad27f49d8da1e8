"""What an incident costs the installation, measured on the cluster: the bytes of its
histories (the incident's and its loops', as stored: encrypted payloads), PostgreSQL's growth
per incident in Temporal's two databases and the records', and CPU seconds per incident by
part (Temporal's services, the project's workers and API, PostgreSQL). docs/operations.md
sizes a province from these figures."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

from bench_phases import history_length
from temporalio.service import RPCError, RPCStatusCode

from linkage.ops.cluster.cluster import Cluster
from linkage.ops.cluster.database import _psql

TICKS = os.sysconf("SC_CLK_TCK")


def database_bytes(cluster: Cluster) -> dict[str, int]:
    names = {"temporal": cluster.db.temporal, "visibility": cluster.db.visibility}
    names["records"] = cluster.db.records
    return {k: int(_psql(cluster.db, f"SELECT pg_database_size('{v}')")) for k, v in names.items()}


def _cpu(pid: int) -> float:
    """User and system seconds of a process and its waited-for children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS


def _postgres_pids() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip().startswith("postgres"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def cpu_seconds(cluster: Cluster) -> dict[str, float]:
    """CPU seconds so far by kind of part (PostgreSQL's backends come and go: a short run's
    figure for it is a floor)."""
    totals = {"temporal": 0.0, "workers": 0.0, "api": 0.0, "postgresql": 0.0}
    processes = cluster.processes
    kinds = {"worker-": "workers", "api-": "api"}
    for name in processes.names():
        kind = next((k for prefix, k in kinds.items() if name.startswith(prefix)), None)
        kind = "temporal" if processes.part(name).temporal else kind
        if kind and processes.pid(name):
            totals[kind] += _cpu(processes.pid(name))
    totals["postgresql"] = sum(_cpu(pid) for pid in _postgres_pids())
    return totals


async def history_bytes(client, incident_id: str) -> int:
    """The incident's histories as stored: every event's serialised size."""
    ids = {incident_id, f"{incident_id}.police", f"{incident_id}.hotline"}
    total = 0
    for workflow_id in sorted(ids):
        try:
            history = await client.client.get_workflow_handle(workflow_id).fetch_history()
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                continue
            raise
        total += sum(event.ByteSize() for event in history.events)
    return total


async def sample(client, incident_ids: list[str]) -> dict:
    sizes = [await history_bytes(client, i) for i in incident_ids]
    events = [await history_length(client, i) or 0 for i in incident_ids]
    return {
        "sampled": len(sizes),
        "history_bytes_median": int(statistics.median(sizes)) if sizes else 0,
        "history_bytes_max": max(sizes, default=0),
        "history_events_root_median": statistics.median(events) if events else 0,
    }


def per_incident(before: dict, after: dict, incidents: int) -> dict:
    return {k: round((after[k] - before[k]) / incidents, 3) for k in before} if incidents else {}
