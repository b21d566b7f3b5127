"""Checks that span keys (AZs, node groups, reservations, jobs, endpoints); each yields (key path, message).

They run after the structural validation of `stacks/config.py` succeeded, so they can rely on types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stacks.endpoint_checks import endpoint_checks

if TYPE_CHECKING:
    from stacks.model import PlatformConfig

Problems = list[tuple[tuple[Any, ...], str]]


def cross_checks(cfg: PlatformConfig, *, offline: bool = False) -> Problems:
    """Checks that span keys; each returns (loc, message). `offline`: only pinned facts may be used."""
    problems: Problems = []
    for i, az in enumerate(cfg.network.availability_zones):
        if not az.startswith(cfg.region):
            problems.append(
                (("network", "availabilityZones", i), f"expected an AZ of region {cfg.region}; found {az!r}")
            )
    problems += _cluster_checks(cfg)
    problems += _training_job_checks(cfg)
    problems += _ray_job_checks(cfg)
    problems += _rag_checks(cfg)
    problems += endpoint_checks(cfg, offline)
    problems += _bedrock_checks(cfg)
    problems += _canvas_checks(cfg)
    buckets = [k.bucket for k in cfg.kpi_reports if k.bucket]
    from components.catalog import bedrock_models, lifecycle

    for i, report in enumerate(cfg.kpi_reports):
        # The summary model on today's calendar: one past its end of life (or one nobody knows) fails every report.
        if (why := lifecycle.problem(report.model_id, "invoke", bedrock_models.today())) and why[0] == "error":
            problems.append((("kpiReports", i, "modelId"), f"expected a Bedrock model that answers: {why[1]}; found "
                                                           f"{report.model_id!r}"))
        if report.bucket and buckets.count(report.bucket) > 1:
            problems.append((("kpiReports", i, "bucket"), f"a bucket has one notification configuration: "
                                                          f"{report.bucket!r} cannot serve two teams"))
    if cfg.live_chat.enabled and cfg.live_chat.talkdesk is None:
        problems.append((("liveChat", "talkdesk"), "live chat needs talkdesk.authUrl and the secret touchpointId, "
                                                   "clientId and clientSecret; found none"))
    return problems


#: Interface endpoints a VpcOnly Canvas domain needs (plus bedrock-runtime for generative AI).
CANVAS_VPC_ENDPOINTS = ("sagemaker.api", "sagemaker.runtime", "sts", "logs")


def _canvas_checks(cfg: PlatformConfig) -> Problems:
    canvas = cfg.canvas
    if not canvas.enabled:
        return []
    if canvas.app_network_access_type != "VpcOnly" or cfg.network.existing is not None:
        return []
    needed = list(CANVAS_VPC_ENDPOINTS) + (["bedrock-runtime"] if canvas.features.generative_ai else [])
    missing = [e for e in needed if e not in cfg.network.interface_endpoints]
    if missing:
        return [(("network", "interfaceEndpoints"), f"a VpcOnly Canvas domain has no internet: add "
                                                    f"{', '.join(missing)}; found {cfg.network.interface_endpoints}")]
    return []


def _bedrock_checks(cfg: PlatformConfig) -> Problems:
    from pathlib import Path

    from components.bedrock.data import validate_manifest
    from components.catalog import bedrock_models, lifecycle

    problems: Problems = []
    bedrock = cfg.bedrock
    names = [f.name for f in bedrock.fine_tuning]
    base_of = {f.name: bedrock_models.BASE_MODELS[f.base_model] for f in bedrock.fine_tuning}
    today = bedrock_models.today()
    for i, ft in enumerate(bedrock.fine_tuning):
        loc = ("bedrock", "fineTuning", i)
        model = base_of[ft.name]
        if cfg.region not in model.regions:
            problems.append((loc, f"{model.model_id} fine-tuning is offered in {', '.join(model.regions)}; "
                                  f"found {cfg.region!r}"))
        if (why := lifecycle.problem(model.model_id, "fine-tune", today)) and why[0] == "error":
            problems.append(((*loc, "baseModel"), f"expected a base model Bedrock still fine-tunes: {why[1]}; found "
                                                  f"{model.model_id!r}"))
        if ft.local_manifest is not None:
            path = Path(ft.local_manifest)
            if not path.is_file():
                problems.append(((*loc, "localManifest"), f"expected a manifest file; {path} does not exist"))
                continue
            report = validate_manifest(path, local_images=True)
            problems += [((*loc, "localManifest"), line) for line in report.lines()]
    problems += _pretraining_checks(cfg, today)
    base_of.update({c.name: bedrock_models.BASE_MODELS[c.base_model] for c in bedrock.continued_pretraining})
    names += [c.name for c in bedrock.continued_pretraining]
    both = sorted({f.name for f in bedrock.fine_tuning} & {c.name for c in bedrock.continued_pretraining})
    for name in both:
        i = [c.name for c in bedrock.continued_pretraining].index(name)
        problems.append((("bedrock", "continuedPretraining", i, "name"),
                         f"expected a name no bedrock.fineTuning[] entry uses (both would create the bucket and "
                         f"custom model {name}-...); found {name!r}"))
    for i, pt in enumerate(bedrock.provisioned_throughput):
        loc = ("bedrock", "provisionedThroughput", i, pt.source_key)
        if pt.source is None:
            # A custom model names its base (arn:...:custom-model/<base model id>/<suffix>); a foundation model is
            # its own (arn:...:foundation-model/<model id>).
            arn = pt.model_arn or ""
            base_id = custom_model_base(arn) or arn.partition(":foundation-model/")[2]
            why = lifecycle.problem(base_id, "throughput", today) if base_id in lifecycle.MODELS else None
            if why and why[0] == "error":
                problems.append((("bedrock", "provisionedThroughput", i, "modelArn"),
                                 f"expected a model Bedrock still sells Provisioned Throughput for: {why[1]}; "
                                 f"found {arn!r}"))
            continue
        if pt.source not in names:
            problems.append((loc, f"expected one of bedrock.fineTuning[].name or bedrock.continuedPretraining[].name "
                                  f"({', '.join(names) or 'none defined'}); found {pt.source!r}"))
        elif (why := lifecycle.problem(base_of[pt.source].model_id, "throughput", today)) and why[0] == "error":
            problems.append((loc, f"expected a model Bedrock still sells Provisioned Throughput for: {pt.source!r} "
                                  f"customizes {why[1]}"))
    return problems


def custom_model_base(arn: str) -> str:
    """`arn:aws:bedrock:<region>:<account>:custom-model/<base model id>/<id>` -> the base model id ("" if not one)."""
    _, _, resource = arn.partition(":custom-model/")
    base, _, rest = resource.rpartition("/")
    return base if resource and rest else ""


def _pretraining_checks(cfg: PlatformConfig, today: Any) -> Problems:
    """Region, lifecycle, batch size against the model's record limits, and a local corpus's records."""
    from components.bedrock.pretraining import corpus_file
    from components.catalog import bedrock_models, lifecycle

    problems: Problems = []
    for i, cpt in enumerate(cfg.bedrock.continued_pretraining):
        loc = ("bedrock", "continuedPretraining", i)
        model = bedrock_models.BASE_MODELS[cpt.base_model]
        limits = model.pretraining
        assert limits is not None
        if cfg.region not in model.regions:
            problems.append(((*loc, "baseModel"), f"{model.model_id} continued pre-training is offered in "
                                                  f"{', '.join(model.regions)}; found region {cfg.region!r}"))
        if (why := lifecycle.problem(model.model_id, "pretrain", today)) and why[0] == "error":
            problems.append(((*loc, "baseModel"), f"expected a base model Bedrock still pre-trains: {why[1]}; found "
                                                  f"{model.model_id!r}"))
        batch = cpt.hyper_parameters.batch_size
        if batch > limits.max_batch_size:
            problems.append(((*loc, "hyperParameters", "batchSize"),
                             f"expected at most {limits.max_batch_size} for {model.model_id} (Bedrock's record "
                             f"limits stop there); found {batch}"))
        elif cpt.local_corpus is not None:
            problems += [((*loc, "localCorpus"), line) for line in
                         _corpus_problems(corpus_file(cpt.local_corpus), limits.max_record_tokens(batch),
                                          limits.max_training_bytes, f"{model.model_id} at batch size {batch}")]
    return problems


def _corpus_problems(path: Any, max_tokens: int, max_bytes: int, what: str) -> list[str]:
    """The curated file exists, holds `{"input": str}` records, fits the size limit, and was chunked to at most
    the model's tokens per record (the curation's stats.json says how it was chunked)."""
    import json

    if not path.is_file():
        return [f"expected {path} (the output of `mlplat corpus curate`); it does not exist"]
    size = path.stat().st_size
    if size > max_bytes:
        return [f"expected a training file of at most {max_bytes / 1024**3:.0f} GB; {path} is "
                f"{size / 1024**3:.1f} GB"]
    problems: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = None
            if not (isinstance(record, dict) and list(record) == ["input"] and isinstance(record["input"], str)):
                problems.append(f'{path}:{number}: expected exactly {{"input": "<text>"}}, found {line[:60]!r}')
                break
        else:
            if size == 0:
                problems.append(f"expected at least one record; {path} is empty")
    stats_path = path.parent.parent / "stats.json"
    try:
        chunked = json.loads(stats_path.read_text())["options"]["maxTokens"]
    except (OSError, ValueError, KeyError, TypeError):
        problems.append(f"expected {stats_path} from `mlplat corpus curate` (it records the chunk size); found none")
    else:
        if chunked > max_tokens:
            problems.append(f"{what} takes at most {max_tokens:,} tokens per record; the corpus was chunked to "
                            f"{chunked:,} (curate again with --max-tokens {max_tokens})")
    return problems


def _training_job_checks(cfg: PlatformConfig) -> Problems:
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
            problems.append(((*loc, "nodeGroup"), f"expected one of the GPU node groups "
                                                  f"({', '.join(groups) or 'none defined'}); found {job.node_group!r}"))
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


def _rag_checks(cfg: PlatformConfig) -> Problems:
    """The service's two endpoints exist, the LLM speaks TGI and the embedder's dimension is known."""
    from components.catalog.jumpstart import EMBEDDING_DIMENSIONS, PINNED

    if not cfg.rag.enabled:
        return []
    problems: Problems = []
    by_name = {e.name: e for e in cfg.endpoints}
    names = ", ".join(by_name) or "none"
    llm, embedder = by_name.get(cfg.rag.llm_endpoint), by_name.get(cfg.rag.embeddings_endpoint)
    if llm is None:
        problems.append((("rag", "llmEndpoint"), f"expected one of endpoints[].name ({names}); found "
                                                 f"{cfg.rag.llm_endpoint!r}"))
    elif (PINNED.get(llm.model_id) is None or PINNED[llm.model_id].payload != "tgi"):
        problems.append((("rag", "llmEndpoint"), f"expected a TGI text-generation model (the service sends TGI "
                                                 f"requests); found {llm.model_id}"))
    if embedder is None:
        problems.append((("rag", "embeddingsEndpoint"), f"expected one of endpoints[].name ({names}); found "
                                                        f"{cfg.rag.embeddings_endpoint!r}"))
    elif embedder.model_id not in EMBEDDING_DIMENSIONS:
        problems.append((("rag", "embeddingsEndpoint"), f"expected an embedding model of known dimension "
                                                        f"({', '.join(EMBEDDING_DIMENSIONS)}); found "
                                                        f"{embedder.model_id}"))
    if cfg.live_chat.enabled and cfg.live_chat.manage_api_gateway_account and cfg.rag.manage_api_gateway_account:
        problems.append((("rag", "manageApiGatewayAccount"), "expected false: liveChat already owns the region's "
                                                             "API Gateway account setting in this stack; found true"))
    if cfg.network.existing is not None and not cfg.network.interface_endpoints:
        problems.append((("rag",), "the functions need sagemaker.runtime: add it to network.interfaceEndpoints"))
    endpoints = cfg.network.interface_endpoints
    if cfg.network.existing is None and endpoints and "lambda" not in endpoints:
        # With interface endpoints the functions have no NAT egress: the query function starts its asynchronous
        # work with lambda:InvokeFunction, which needs the Lambda endpoint (the pack's vpc-functions-reach-their-apis).
        problems.append((("network", "interfaceEndpoints"), "expected lambda among them: the RAG query function "
                         "invokes itself for asynchronous queries from inside the VPC; found "
                         f"[{', '.join(endpoints)}]"))
    return problems


def _ray_job_checks(cfg: PlatformConfig) -> Problems:
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
                problems.append(((*loc, "nodeGroup"), f"expected one of the node groups ({', '.join(groups) or 'none'}"
                                                      f"); found {job.node_group!r}"))
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


def _system_nodes_check(cfg: PlatformConfig) -> Problems:
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


def _cluster_checks(cfg: PlatformConfig) -> Problems:
    problems: Problems = []
    cluster = cfg.gpu_cluster
    if not cluster.enabled:
        return problems
    problems += _system_nodes_check(cfg)
    azs = cfg.network.availability_zones
    reservation_azs: dict[str, tuple[int, str, str]] = {}
    for i, group in enumerate(cluster.node_groups):
        loc = ("gpuCluster", "nodeGroups", i)
        if group.availability_zone not in azs:
            problems.append(((*loc, "availabilityZone"), f"expected one of the network's AZs ({', '.join(azs)}); "
                                                         f"found {group.availability_zone!r}"))
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
        elif shared.availability_zone and shared.availability_zone not in azs:
            problems.append(((*loc, "availabilityZone"), f"expected one of the network's AZs ({', '.join(azs)}); "
                                                         f"found {shared.availability_zone!r}"))
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
