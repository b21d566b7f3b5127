"""The GPU cluster and what runs on it: node groups in the network's AZs, reservations, shared storage, the API
endpoint the deployer reaches, the system nodes that hold the operators, and the jobs' node groups and sizes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stacks.checks.base import Problems, in_network, one_of

if TYPE_CHECKING:
    from stacks.model import PlatformConfig


def cluster_checks(cfg: PlatformConfig) -> Problems:
    problems: Problems = []
    cluster = cfg.gpu_cluster
    if not cluster.enabled:
        return problems
    problems += _system_nodes(cfg)
    azs = cfg.network.availability_zones
    reservation_azs: dict[str, tuple[int, str, str]] = {}
    for i, group in enumerate(cluster.node_groups):
        loc = ("gpuCluster", "nodeGroups", i)
        problems += in_network(azs, (*loc, "availabilityZone"), group.availability_zone)
        rid = group.capacity_reservation_id
        if rid:
            first = reservation_azs.setdefault(rid, (i, group.availability_zone, group.instance_type))
            if first[1] != group.availability_zone:
                problems.append(((*loc, "capacityReservationId"),
                                 f"reservation {rid} is used by nodeGroups[{first[0]}] in {first[1]}; a reservation "
                                 f"lives in one AZ, found {group.availability_zone!r}"))
            elif first[2] != group.instance_type:
                # A reservation holds one instance type: the group (or Karpenter pool) of the other type would
                # select it and never launch into it.
                problems.append(((*loc, "capacityReservationId"),
                                 f"reservation {rid} is for {first[2]} (nodeGroups[{first[0]}]); a reservation holds "
                                 f"one instance type, found {group.instance_type}"))
    shared = cluster.shared_storage
    if shared.enabled:
        loc = ("gpuCluster", "sharedStorage")
        if not cluster.operators.fsx_csi:
            problems.append((loc, "FSx for Lustre is mounted through the FSx CSI driver: expected "
                                  "gpuCluster.operators.fsxCsi: true; found false"))
        if not (shared.availability_zone or cluster.node_groups):
            problems.append(((*loc, "availabilityZone"), "expected an AZ (or a GPU node group whose AZ it takes); "
                                                         "found neither"))
        elif shared.availability_zone:
            problems += in_network(azs, (*loc, "availabilityZone"), shared.availability_zone)
    if cluster.endpoint_public_access and not cluster.public_access_cidrs:
        problems.append((("gpuCluster", "publicAccessCidrs"),
                         "expected the CIDRs allowed to reach the public API endpoint (the endpoint is public in "
                         f"{cfg.environment}); found none (or set endpointPublicAccess: false)"))
    if not cluster.endpoint_public_access and not cluster.deployer_in_vpc:
        # The same stack creates Kubernetes objects (operators, namespaces, jobs): its deployer must reach the API.
        problems.append((("gpuCluster", "endpointPublicAccess"),
                         "expected an API endpoint the deployer can reach: this stack creates Kubernetes objects "
                         "(operators, namespaces, training jobs), and a private-only endpoint answers only inside "
                         "the VPC or a connected network. Either set endpointPublicAccess: true with "
                         "publicAccessCidrs listing your deployers' egress CIDRs, or run pulumi from inside the VPC "
                         "and set deployerInVpc: true; found a private-only endpoint"))
    return problems


def _system_nodes(cfg: PlatformConfig) -> Problems:
    """The system group's minimum nodes hold every operator pod's requests (catalog/system_pods.py)."""
    from components.catalog.instance_types import lookup
    from components.catalog.system_pods import MAX_PODS, allocatable, demand

    system, ops = cfg.gpu_cluster.system_node_group, cfg.gpu_cluster.operators
    flags = {"ebs_csi": ops.ebs_csi, "cloudwatch_observability": ops.cloudwatch_observability,
             "fsx_csi": ops.fsx_csi, "cluster_autoscaler": ops.cluster_autoscaler,
             "training_operator": ops.training_operator.enabled, "etcd": ops.etcd,
             "prometheus": ops.prometheus.enabled, "kuberay": ops.kuberay,
             "karpenter": cfg.gpu_cluster.uses_karpenter}
    need = demand({k for k, on in flags.items() if on}, system.min_size)
    facts, nodes = lookup(system.instance_type), system.min_size
    cpu, memory = allocatable(facts.vcpus, facts.memory_gib, MAX_PODS[system.instance_type])
    have = (cpu * nodes, memory * nodes, MAX_PODS[system.instance_type] * nodes)
    if need.cpu_m > have[0] or need.memory_mi > have[1] or need.pods > have[2]:
        return [(("gpuCluster", "systemNodeGroup", "instanceType"),
                 f"expected minSize x {system.instance_type} to hold the operators' requests ({need.cpu_m}m CPU, "
                 f"{need.memory_mi}Mi, {need.pods} pods); {nodes} node(s) offer {have[0]}m, {have[1]}Mi, "
                 f"{have[2]} pods: choose a larger type or raise minSize")]
    return []


def training_job_checks(cfg: PlatformConfig) -> Problems:
    problems: Problems = []
    cluster = cfg.gpu_cluster
    groups = {g.name: g for g in cluster.node_groups}
    for i, job in enumerate(cfg.training_jobs):
        loc = ("trainingJobs", i)
        if not cluster.enabled:
            problems.append((loc, "training jobs need gpuCluster.enabled: true"))
            continue
        group = groups.get(job.node_group)
        if group is None:
            problems += one_of((*loc, "nodeGroup"), "the GPU node groups", groups, job.node_group)
        else:
            top = job.elastic.max_replicas or job.workers
            if top > group.max_size:
                problems.append(((*loc, "workers"), f"asks for up to {top} workers but node group {group.name!r} has "
                                                    f"maxSize {group.max_size}"))
        if not cluster.operators.training_operator.enabled:
            problems.append((loc, "PyTorchJobs need gpuCluster.operators.trainingOperator.enabled: true"))
        if job.rendezvous == "etcd" and not cluster.operators.etcd:
            problems.append(((*loc, "rendezvous"), "etcd rendezvous needs gpuCluster.operators.etcd: true "
                                                   "(or use rendezvous: c10d)"))
    return problems


def ray_job_checks(cfg: PlatformConfig) -> Problems:
    """Cluster and operator present, node group known, pods fit it, the domain config parses."""
    from pathlib import Path

    from components.catalog.instance_types import lookup
    from components.catalog.system_pods import memory_mi
    from mlruntime.corpus.config import load_domain_config
    from mlruntime.errors import InputError

    problems: Problems = []
    cluster = cfg.gpu_cluster
    groups = {g.name: g for g in cluster.node_groups}
    for i, job in enumerate(cfg.ray_jobs):
        loc = ("rayJobs", i)
        if not (cluster.enabled and cluster.operators.kuberay):
            problems.append((loc, "RayJobs need gpuCluster.enabled: true and gpuCluster.operators.kuberay: true"))
        instance = cluster.system_node_group.instance_type
        if job.node_group is not None:
            group = groups.get(job.node_group)
            if group is None:
                problems += one_of((*loc, "nodeGroup"), "the GPU node groups", groups, job.node_group)
                continue
            instance = group.instance_type
        facts = lookup(instance)
        # Leave a vCPU and 2 GiB to the kubelet, the system daemons and the device plugins.
        if job.worker_cpu > facts.vcpus - 1:
            problems.append(((*loc, "workerCpu"), f"expected at most {facts.vcpus - 1} (a {instance} has "
                                                  f"{facts.vcpus} vCPUs); found {job.worker_cpu}"))
        if memory_mi(job.worker_memory) > (facts.memory_gib - 2) * 1024:
            problems.append(((*loc, "workerMemory"), f"expected at most {facts.memory_gib - 2}Gi (a {instance} has "
                                                     f"{facts.memory_gib} GiB); found {job.worker_memory}"))
        path = Path(job.domain_config)
        if not path.is_file():
            problems.append(((*loc, "domainConfig"), f"expected a domain config file; {path} does not exist"))
            continue
        try:
            load_domain_config(path)
        except InputError as exc:
            problems.append(((*loc, "domainConfig"), str(exc).replace("\n  ", "; ")))
    return problems
