"""Tag keys that are part of the platform's contract (components write them, the policy pack reads them)."""

#: Every taggable resource carries these (provider `default_tags` plus component tags).
REQUIRED_TAG_KEYS: tuple[str, ...] = ("environment", "project", "owner", "cost-center")

#: On an endpoint that does not scale to zero where the environment asks for it: the reason why.
ALWAYS_ON_TAG = "mlplat:always-on-reason"

#: On a launch template whose capacity reservation was made in a cluster placement group: that group's name
#: (the policy pack then accepts the placement group with the reservation).
RESERVATION_PLACEMENT_TAG = "mlplat:reservation-placement-group"

#: On the private subnets the network component creates (value: the network's name) and on the cluster's EFA security
#: group (value: `<cluster>-efa`): Karpenter's EC2NodeClasses select them by it (karpenter.sh nodeclasses docs,
#: subnetSelectorTerms and securityGroupSelectorTerms).
DISCOVERY_TAG = "karpenter.sh/discovery"

#: On a SageMaker model (or the endpoint configuration of inference components) that runs without network isolation
#: because its JumpStart spec says so (`InferenceEnableNetworkIsolation: false`): the reason, which the policy pack
#: accepts in place of isolation.
NETWORK_ISOLATION_OFF_TAG = "mlplat:network-isolation-off-reason"
