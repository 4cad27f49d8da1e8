"""`linkage demo` on the cluster: seven incidents in both directions, every party, to the end."""

from __future__ import annotations

from tests.cluster.conftest import linkage_command


def test_the_demo_closes_seven_of_seven_on_the_cluster(cluster):
    out = linkage_command(cluster, "demo", "--pace", "0.2")
    assert "7 of 7 incidents closed" in out, out[-2000:]
