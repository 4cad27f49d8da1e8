"""The Grafana dashboards of `temporal-config/monitoring/dashboards/`, drawn without Grafana
(which is AGPL and may not be used): each panel's targets are queried from a Prometheus as
range queries and drawn as one self-contained HTML page per dashboard, with inline SVG and no
script; Chromium takes a screenshot of it where asked.

    python -m linkage.ops.dashboards --prometheus http://127.0.0.1:9090 --out DIR \\
        [--range 1h] [--end UNIX_TIME] [--screenshot]

- `grafana`: what the dashboard's JSON means (panels, variables, legends, reductions);
- `source`: Prometheus' HTTP query API;
- `units`, `charts`, `panels`, `page`: the values, the drawings, a panel, the page
  (`page.write`: one dashboard file into a folder);
- `screenshot`: the PNG;
- `cluster`: a Prometheus scraping the cluster on this machine (`scripts/dashboards`).
"""
