"""Cluster operators: device plugins, Kubeflow training operator + etcd, observability, CSI, autoscaling."""
