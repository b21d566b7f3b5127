"""Regenerate the catalog's AWS facts from the AWS APIs (needs AWS credentials; never run by the tests).

    python scripts/refresh_catalog.py [--region us-east-1] [--write]
    python scripts/refresh_catalog.py --lifecycle [--region us-east-1] [--write]
    python scripts/refresh_catalog.py --add MODEL_ID [--version V] [--document FILE] [--write]

- instance facts (`components/catalog/data/instance_types.json`): `ec2 describe-instance-types`
  for every type in the catalog (accelerators, vCPUs, memory, network cards, maximum EFA
  interfaces, instance store);
- EKS add-on default versions (`components/catalog/data/eks_addons.json`): `eks
  describe-addon-versions` per supported Kubernetes version, the version EKS marks `defaultVersion`;
- Bedrock model lifecycle (`components/catalog/data/bedrock_lifecycle.json`, `--lifecycle`): `bedrock
  get-foundation-model` `modelLifecycle` (status ACTIVE / LEGACY, legacyTime, publicExtendedAccessTime,
  endOfLifeTime; botocore bedrock 2023-04-20 `FoundationModelLifecycle`) for every model the calendar names;
- JumpStart hub documents (`components/catalog/data/jumpstart_hub.json`): `sagemaker
  describe-hub-content` on `SageMakerPublicHub` for every hub-backed pinned model, at its pinned
  version (`--latest`: the newest version instead).

`--add MODEL_ID` pins one more JumpStart model: from `--document FILE` (the JSON that `aws sagemaker
describe-hub-content --hub-name SageMakerPublicHub --hub-content-type Model --hub-content-name MODEL_ID`
prints, or its `HubContentDocument` alone with `--version`), or live with credentials. The document is
validated as a deployment reads it before anything is written.

Without `--write` it prints what would change. Each file records its source and the date. Offline
(plans, tests, CI) the committed files are used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "components" / "catalog" / "data"
sys.path.insert(0, str(ROOT))


def instance_facts(ec2: Any, names: list[str]) -> dict[str, dict[str, Any]]:
    """Hardware facts per instance type, in the catalog's JSON shape."""
    out: dict[str, dict[str, Any]] = {}
    for page in ec2.get_paginator("describe_instance_types").paginate(InstanceTypes=sorted(names)):
        for t in page["InstanceTypes"]:
            gpus = (t.get("GpuInfo") or {}).get("Gpus") or []
            neuron = (t.get("NeuronInfo") or {}).get("NeuronDevices") or []
            devices, accelerator = (gpus, "nvidia") if gpus else (neuron, "neuron") if neuron else ([], "none")
            count = sum(d.get("Count", 0) for d in devices)
            memory_mib = sum(d.get("Count", 0) * (d.get("MemoryInfo") or {}).get("SizeInMiB", 0) for d in devices)
            model = devices[0].get("Name", "") if devices else ""
            storage = (t.get("InstanceStorageInfo") or {}).get("Disks") or []
            network = t.get("NetworkInfo") or {}
            out[t["InstanceType"]] = {
                "accelerator": accelerator,
                "acceleratorModel": model,
                "accelerators": count,
                "acceleratorMemoryGiB": round(memory_mib / 1024),
                "vcpus": t["VCpuInfo"]["DefaultVCpus"],
                "memoryGiB": round(t["MemoryInfo"]["SizeInMiB"] / 1024),
                "maxEfaInterfaces": (network.get("EfaInfo") or {}).get("MaximumEfaInterfaces", 0)
                if network.get("EfaSupported") else 0,
                "networkCards": network.get("MaximumNetworkCards", 1),
                "nvmeDisks": sum(d.get("Count", 0) for d in storage),
                "nvmeDiskGB": storage[0].get("SizeInGB", 0) if storage else 0,
            }
    missing = sorted(set(names) - set(out))
    if missing:
        raise SystemExit(f"describe-instance-types did not return {', '.join(missing)} in this region")
    return out


def addon_defaults(eks: Any, kubernetes_versions: list[str], addons: list[str]) -> dict[str, dict[str, str]]:
    """The default version of each add-on per Kubernetes version."""
    out: dict[str, dict[str, str]] = {}
    for k8s in kubernetes_versions:
        out[k8s] = {}
        for addon in addons:
            response = eks.describe_addon_versions(kubernetesVersion=k8s, addonName=addon)
            versions = [v for a in response["addons"] for v in a["addonVersions"]
                        if any(c.get("clusterVersion") == k8s and c.get("defaultVersion")
                               for c in v.get("compatibilities", []))]
            if not versions:
                raise SystemExit(f"EKS reports no default {addon} version for Kubernetes {k8s}")
            out[k8s][addon] = versions[0]["addonVersion"]
    return out


def lifecycle_facts(bedrock: Any, model_ids: list[str], known: dict[str, dict[str, Any]]) -> tuple[
        dict[str, dict[str, Any]], list[str]]:
    """model id -> modelLifecycle facts (dates as ISO days), and notes. A model the API no longer knows (past its
    end of life, gone from the region) keeps its known facts, with a note; one without an end-of-life date there
    is a note asking for it, since the calendar cannot refuse it otherwise."""
    out: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for model_id in sorted(model_ids):
        try:
            details = bedrock.get_foundation_model(modelIdentifier=model_id)["modelDetails"]
        except bedrock.exceptions.ResourceNotFoundException:
            out[model_id] = known[model_id]
            if not known[model_id].get("endOfLifeTime"):
                notes.append(f"{model_id}: not found and no end-of-life date known: check the lifecycle page and "
                             "set endOfLifeTime")
            continue
        life = details.get("modelLifecycle") or {}
        out[model_id] = {"status": life.get("status", "ACTIVE"),
                         **{key: life[key].date().isoformat() if life.get(key) else None
                            for key in ("legacyTime", "publicExtendedAccessTime", "endOfLifeTime")}}
        # The API may not repeat a date the lifecycle page gave (an end of life announced on the page only):
        # keep a known date rather than forget it.
        for key in ("legacyTime", "publicExtendedAccessTime", "endOfLifeTime"):
            if out[model_id][key] is None and known.get(model_id, {}).get(key):
                out[model_id][key] = known[model_id][key]
                notes.append(f"{model_id}: the API gives no {key}; kept {known[model_id][key]} from the catalog")
    return out, notes


def hub_documents(sagemaker: Any, pins: dict[str, str | None]) -> dict[str, dict[str, Any]]:
    """model id -> {version, document} from the public hub (`None` version: the latest)."""
    out = {}
    for model_id, version in sorted(pins.items()):
        kwargs = {"HubName": "SageMakerPublicHub", "HubContentType": "Model", "HubContentName": model_id}
        if version:
            kwargs["HubContentVersion"] = version
        response = sagemaker.describe_hub_content(**kwargs)
        out[model_id] = {"version": response["HubContentVersion"],
                         "document": json.loads(response["HubContentDocument"])}
    return out


def _document(source: str, key: str, value: Any) -> dict[str, Any]:
    return {"source": source, "checked": dt.date.today().isoformat(), key: value}


def refresh(clients: dict[str, Any], *, latest: bool = False) -> dict[str, dict[str, Any]]:
    """The three data documents, built from the given boto3 clients."""
    from components.catalog.data import load
    from components.catalog.versions import KUBERNETES_VERSIONS

    types = sorted(load("instance_types")["types"])
    addons = sorted(next(iter(load("eks_addons")["kubernetesVersions"].values())))
    hub = load("jumpstart_hub")["models"]
    return {
        "instance_types": _document("ec2 describe-instance-types", "types",
                                    instance_facts(clients["ec2"], types)),
        # Every version read from the API: none is left unconfirmed.
        "eks_addons": {**_document("eks describe-addon-versions (compatibilities[].defaultVersion)",
                                   "kubernetesVersions", addon_defaults(clients["eks"], list(KUBERNETES_VERSIONS),
                                                                        addons)), "unconfirmed": {}},
        # Local additions to a pin (the CPU image variant) are kept; the hub part is replaced.
        "jumpstart_hub": _document("sagemaker describe-hub-content (SageMakerPublicHub)", "models", {
            model: {**hub[model], **fresh} for model, fresh in hub_documents(
                clients["sagemaker"], {m: None if latest else p["version"] for m, p in hub.items()}).items()}),
    }


def hub_entry(model_id: str, response: dict[str, Any], version: str | None = None) -> dict[str, Any]:
    """A `describe-hub-content` response (or a bare HubContentDocument with `version`) as a catalog entry.

    Raises SystemExit with the reason when a deployment could not use it.
    """
    from components.catalog.jumpstart import SpecError, spec_from_hub_document

    if "HubContentDocument" in response:
        document = response["HubContentDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        version = version or response.get("HubContentVersion")
        name = response.get("HubContentName", model_id)
        if name != model_id:
            raise SystemExit(f"the document is for {name}, not {model_id}")
    else:
        document = response
    if not version:
        raise SystemExit("a bare HubContentDocument needs --version (describe-hub-content prints HubContentVersion)")
    try:
        spec_from_hub_document(model_id, version, document)
    except SpecError as exc:
        raise SystemExit(f"cannot pin {model_id}: {exc}") from None
    return {"version": version, "document": document}


def add_model(model_id: str, entry: dict[str, Any], *, write: bool) -> int:
    path = DATA / "jumpstart_hub.json"
    data = json.loads(path.read_text())
    if model_id in data["models"] and data["models"][model_id]["version"] == entry["version"]:
        print(f"{model_id} {entry['version']} is already pinned")
        return 0
    data["models"][model_id] = {**data["models"].get(model_id, {}), **entry}
    data["checked"] = dt.date.today().isoformat()
    print(f"{path.relative_to(ROOT)}: {'pinned' if write else 'would pin'} {model_id} {entry['version']}")
    if write:
        path.write_text(json.dumps(data, indent=1) + "\n")
        print("next: add it to a stack's endpoints[] (modelId, and instanceType from its supported types), then "
              "`mlplat plan <stack>`; an embedding model also needs its dimension in EMBEDDING_DIMENSIONS "
              "(components/catalog/jumpstart.py) to back the RAG service")
    return 0


def refresh_lifecycle(bedrock: Any, *, write: bool) -> int:
    from components.catalog.lifecycle import NAMES

    path = DATA / "bedrock_lifecycle.json"
    data = json.loads(path.read_text())
    facts, notes = lifecycle_facts(bedrock, list(NAMES), data["models"])
    for note in notes:
        print(f"note: {note}")
    changed = sorted(m for m in facts if facts[m] != data["models"].get(m))
    for model_id in changed:
        print(f"{model_id}: {data['models'].get(model_id)} -> {facts[model_id]}")
    data.update(models=facts, checked=dt.date.today().isoformat())
    if write:
        path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"{path.relative_to(ROOT)}: {len(changed)} model(s) changed, {'written' if write else 'not written'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="regenerate the catalog's AWS facts from the AWS APIs")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--write", action="store_true", help="write the data files (default: show changes)")
    parser.add_argument("--latest", action="store_true", help="JumpStart: the newest hub version of each model")
    parser.add_argument("--lifecycle", action="store_true",
                        help="only the Bedrock model lifecycle (bedrock get-foundation-model modelLifecycle)")
    parser.add_argument("--add", metavar="MODEL_ID", help="pin one more JumpStart model (hub content name)")
    parser.add_argument("--version", help="with --add: the hub content version (default: the latest)")
    parser.add_argument("--document", type=Path, metavar="FILE",
                        help="with --add: a saved describe-hub-content response (no AWS call)")
    args = parser.parse_args(argv)
    if args.add and args.document:
        try:
            response = json.loads(args.document.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise SystemExit(f"{args.document}: not a JSON document: {exc}") from None
        return add_model(args.add, hub_entry(args.add, response, args.version), write=args.write)
    import boto3

    if args.add:
        sagemaker = boto3.client("sagemaker", region_name=args.region)
        kwargs = {"HubName": "SageMakerPublicHub", "HubContentType": "Model", "HubContentName": args.add}
        if args.version:
            kwargs["HubContentVersion"] = args.version
        return add_model(args.add, hub_entry(args.add, sagemaker.describe_hub_content(**kwargs)), write=args.write)

    if args.lifecycle:
        return refresh_lifecycle(boto3.client("bedrock", region_name=args.region), write=args.write)
    clients = {name: boto3.client(name, region_name=args.region) for name in ("ec2", "eks", "sagemaker")}
    changed = 0
    for name, document in refresh(clients, latest=args.latest).items():
        path = DATA / f"{name}.json"
        old = json.loads(path.read_text())
        key = next(k for k in document if k not in ("source", "checked"))
        if old.get(key) != document[key]:
            changed += 1
            print(f"{path.relative_to(ROOT)}: changed")
            if args.write:
                path.write_text(json.dumps(document, indent=1) + "\n")
    print(f"{changed} file(s) {'written' if args.write else 'would change'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
