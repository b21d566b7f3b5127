"""Throughput of the policy pack evaluated offline, and what it adds to `mlplat plan prod`.

1. A synthetic plan of N resources (default 10,000) shaped like the platform's (EFA launch templates,
   node groups, buckets with their SSE/PAB, keys, IAM policies, log groups, providers): prints
   `resources_per_s=…`.
2. The prod plan: time to evaluate the pack on it against the whole plan's time:
   `pack_s=… plan_s=… overhead_pct=…` (target: under 10%).

    python bench/policy_speed.py [--resources 10000] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from components.catalog.instance_types import lookup  # noqa: E402
from components.eks_gpu_cluster.node_config import efa_interfaces  # noqa: E402
from policies.offline import evaluate, load_pack_config  # noqa: E402

PROVIDER = "urn:pulumi:bench::ml-platform::pulumi:providers:aws::aws"


def _r(typ: str, name: str, inputs: dict, deps: list[str] | None = None) -> dict:
    return {"urn": f"urn:pulumi:bench::ml-platform::{typ}::{name}", "type": typ, "name": name, "id": name,
            "custom": True, "parent": None, "dependencies": deps or [], "provider": f"{PROVIDER}::id",
            "protect": False, "retainOnDelete": False, "inputs": inputs, "outputs": inputs}


def synthetic(n: int) -> list[dict]:
    tags = {"tags": {"environment": "prod", "project": "ml-platform", "owner": "o", "cost-center": "c"}}
    resources = [dict(_r("pulumi:providers:aws", "aws", {"defaultTags": json.dumps(tags)}), urn=PROVIDER,
                      provider=None)]
    p5 = [{"networkCardIndex": i["network_card_index"], "interfaceType": i["interface_type"],
           "deviceIndex": i["device_index"], "associatePublicIpAddress": "false"}
          for i in efa_interfaces(lookup("p5.48xlarge"), ["sg"])]
    i = 0
    while len(resources) < n:
        lt = _r("aws:ec2/launchTemplate:LaunchTemplate", f"lt{i}", {
            "instanceType": "p5.48xlarge", "networkInterfaces": p5, "metadataOptions": {"httpTokens": "required"}})
        ng = _r("aws:eks/nodeGroup:NodeGroup", f"ng{i}", {
            "subnetIds": ["s"], "scalingConfig": {"minSize": 0, "maxSize": 1},
            "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]}, [lt["urn"]])
        bucket = _r("aws:s3/bucket:Bucket", f"b{i}", {"bucket": f"b{i}"})
        sse = _r("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", f"sse{i}",
                 {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]}, [bucket["urn"]])
        pab = _r("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"pab{i}",
                 {k: True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                    "restrictPublicBuckets")}, [bucket["urn"]])
        key = _r("aws:kms/key:Key", f"k{i}", {"enableKeyRotation": True})
        pol = _r("aws:iam/rolePolicy:RolePolicy", f"p{i}", {"policy": json.dumps({"Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"arn:aws:s3:::b{i}/*"}]})})
        logs = _r("aws:cloudwatch/logGroup:LogGroup", f"l{i}", {"retentionInDays": 30, "kmsKeyId": "k"})
        sub = _r("aws:ec2/subnet:Subnet", f"s{i}", {"cidrBlock": "10.0.0.0/24", "tags": {"Name": "x"}})
        vpce = _r("aws:ec2/vpcEndpoint:VpcEndpoint", f"e{i}", {"serviceName": "com.amazonaws.us-east-1.sts"})
        resources += [lt, ng, bucket, sse, pab, key, pol, logs, sub, vpce]
        i += 1
    return resources[:n]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    config = load_pack_config("prod")
    resources = synthetic(args.resources)
    times = []
    for _ in range(args.reps):
        start = time.perf_counter()
        violations = evaluate(resources, config)
        times.append(time.perf_counter() - start)
    best = statistics.median(times)
    print(f"synthetic_resources={len(resources)} violations={len(violations)} seconds={best:.3f}")
    print(f"resources_per_s={len(resources) / best:,.0f}")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "prod.json"
        plan_times = []
        for _ in range(args.reps):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "mlplat", "plan", "prod", "--quiet", "--json", str(out)],
                           cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            plan_times.append(time.perf_counter() - start)
        plan = json.loads(out.read_text())
    pack_times = []
    for _ in range(args.reps):
        start = time.perf_counter()
        evaluate(plan["resources"], config)
        pack_times.append(time.perf_counter() - start)
    pack_s, plan_s = statistics.median(pack_times), statistics.median(plan_times)
    print(f"prod_resources={len(plan['resources'])} pack_s={pack_s:.3f} plan_s={plan_s:.3f} "
          f"overhead_pct={100 * pack_s / (plan_s - pack_s):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
