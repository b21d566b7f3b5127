"""The Grafana GPU dashboard (JSON model), provisioned as a ConfigMap the Grafana sidecar picks up."""

from __future__ import annotations

import json

#: (metric, panel title, unit) — the DCGM fields the FSDP-on-EKS reference watches.
GPU_PANELS: tuple[tuple[str, str, str], ...] = (
    ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization", "percent"),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "Memory copy utilization", "percent"),
    ("DCGM_FI_DEV_XID_ERRORS", "XID errors (last)", "none"),
    ("DCGM_FI_DEV_SM_CLOCK", "SM clock", "hertz"),
    ("DCGM_FI_DEV_GPU_TEMP", "GPU temperature", "celsius"),
    ("DCGM_FI_DEV_POWER_USAGE", "Power usage", "watt"),
)


def gpu_dashboard() -> str:
    panels = []
    for i, (metric, title, unit) in enumerate(GPU_PANELS):
        panels.append(
            {
                "id": i + 1,
                "type": "timeseries",
                "title": title,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [
                    {
                        "refId": "A",
                        "expr": f'{metric}{{Hostname=~"$node"}}' + (" * 1000000" if unit == "hertz" else ""),
                        "legendFormat": "{{Hostname}} GPU {{gpu}}",
                    }
                ],
            }
        )
    model = {
        "title": "GPU training (DCGM)",
        "uid": "mlplat-gpu-dcgm",
        "schemaVersion": 39,
        "tags": ["gpu", "dcgm", "ml-platform"],
        "time": {"from": "now-3h", "to": "now"},
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {
                    "name": "node",
                    "type": "query",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "query": "label_values(DCGM_FI_DEV_GPU_UTIL, Hostname)",
                    "includeAll": True,
                    "multi": True,
                },
            ]
        },
        "panels": panels,
    }
    return json.dumps(model, indent=1, sort_keys=True)
