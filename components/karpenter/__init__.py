"""Karpenter as the GPU cluster's node provisioner: controller, interruption queue, EC2NodeClasses and NodePools."""
