"""FSx for Lustre for the training pods: PERSISTENT_2 in the GPU nodes' AZ, encrypted with the environment key,
reachable only from the cluster's nodes, optionally linked to an S3 prefix, and mounted through a static
PersistentVolume and claim in the training namespace (the FSx CSI driver, operators.fsxCsi).

Lustre needs TCP 988 and 1018-1023 between clients and the file system and within the file system's own
security group (FSx for Lustre user guide, "File system access control with Amazon VPC").
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.context import Env, NetworkRef
from components.shared_storage.args import SharedStorageArgs

LUSTRE_PORTS = ((988, 988), (1018, 1023))


@dataclass(frozen=True)
class Clients:
    """The pods that mount the file system: their nodes' AZ and security group (the cluster security group every
    node carries), and the namespace of their claim."""

    availability_zone: str
    security_group: pulumi.Input[str]
    namespace: str


class SharedStorage(pulumi.ComponentResource):
    file_system_id: pulumi.Output[str]
    claim_name: str

    def __init__(self, name: str, args: SharedStorageArgs, *, env: Env, network: NetworkRef, clients: Clients,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """`clients`: who mounts it; `env` must carry the cluster's Kubernetes provider."""
        availability_zone, client_security_group = clients.availability_zone, clients.security_group
        namespace = clients.namespace
        super().__init__("mlplat:shared_storage:SharedStorage", name, None, env.component_options(opts))
        child = pulumi.ResourceOptions(parent=self)
        sg = aws.ec2.SecurityGroup(f"{name}-fsx", vpc_id=network.vpc_id,
                                   description=f"FSx for Lustre {name}: Lustre from the cluster's nodes", opts=child)
        for source_key, source in (("self", sg.id), ("nodes", client_security_group)):
            for low, high in LUSTRE_PORTS:
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-fsx-{source_key}-{low}", security_group_id=sg.id, referenced_security_group_id=source,
                    ip_protocol="tcp", from_port=low, to_port=high, description=f"Lustre {low}-{high}", opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-fsx-self-out", security_group_id=sg.id,
                                        referenced_security_group_id=sg.id, ip_protocol="-1",
                                        description="Lustre servers among themselves", opts=child)
        fs = aws.fsx.LustreFileSystem(
            f"{name}-fs",
            deployment_type="PERSISTENT_2",
            storage_capacity=args.storage_capacity_gib,
            per_unit_storage_throughput=args.throughput_per_tib,
            subnet_ids=network.subnet_in(availability_zone),  # one subnet: a Lustre file system lives in one AZ
            security_group_ids=[sg.id],
            kms_key_id=env.key_arn,
            data_compression_type="LZ4",
            opts=pulumi.ResourceOptions(parent=self, protect=env.protect),
        )
        if args.data_repository_path:
            events = ["NEW", "CHANGED", "DELETED"]
            aws.fsx.DataRepositoryAssociation(
                f"{name}-data", file_system_id=fs.id, file_system_path="/data",
                data_repository_path=args.data_repository_path, batch_import_meta_data_on_create=True,
                s3=aws.fsx.DataRepositoryAssociationS3Args(
                    auto_import_policy=aws.fsx.DataRepositoryAssociationS3AutoImportPolicyArgs(events=events),
                    auto_export_policy=aws.fsx.DataRepositoryAssociationS3AutoExportPolicyArgs(events=events)),
                opts=child)
        size = f"{args.storage_capacity_gib}Gi"
        volume = k8s.core.v1.PersistentVolume(
            f"{name}-pv", metadata={"name": name},
            spec={"capacity": {"storage": size}, "volumeMode": "Filesystem", "accessModes": ["ReadWriteMany"],
                  "mountOptions": ["flock"], "persistentVolumeReclaimPolicy": "Retain",
                  "csi": {"driver": "fsx.csi.aws.com", "volumeHandle": fs.id,
                          "volumeAttributes": {"dnsname": fs.dns_name, "mountname": fs.mount_name}}},
            opts=child)
        self.claim_name = f"{name}-shared"
        k8s.core.v1.PersistentVolumeClaim(
            f"{name}-pvc", metadata={"name": self.claim_name, "namespace": namespace},
            spec={"accessModes": ["ReadWriteMany"], "storageClassName": "", "volumeName": name,
                  "resources": {"requests": {"storage": size}}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[volume]))
        self.file_system_id = fs.id
        self.register_outputs({"fileSystemId": self.file_system_id, "claimName": self.claim_name})
