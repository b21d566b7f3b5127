"""EKS GPU cluster with EFA: control plane, system and GPU node groups, capacity reservations.

`args` is light (pydantic only) so configuration can be validated without importing providers;
import `component` for the `GpuCluster` resource.
"""
