"""All rules of the pack, grouped by concern."""

from policies.rules.cost import COST_POLICIES
from policies.rules.edge import EDGE_POLICIES
from policies.rules.engine import ENGINE_POLICIES
from policies.rules.gpu import GPU_POLICIES
from policies.rules.network_path import NETWORK_POLICIES
from policies.rules.placement import PLACEMENT_POLICIES
from policies.rules.security import SECURITY_POLICIES

ALL_POLICIES = [*SECURITY_POLICIES, *EDGE_POLICIES, *GPU_POLICIES, *COST_POLICIES, *ENGINE_POLICIES,
                *PLACEMENT_POLICIES, *NETWORK_POLICIES]
