"""ml-platform: load the stack's typed config and build the environment."""

import pulumi

from stacks import config, platform

for name, value in platform.build(config.load()).items():
    pulumi.export(name, value)
