"""Finding the project and turning a stack file into the config map the engine would pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlruntime.errors import InputError
from stacks import stack_file
from stacks.stack_file import StackFile

__all__ = ["InputError", "Project", "StackConfig", "find_project", "load_stack_config"]


@dataclass
class StackConfig:
    stack: str
    path: Path
    values: dict[str, str]
    secret_keys: list[str]
    #: Stand-ins for `secure:` values (the offline engine cannot decrypt them); never printed.
    placeholders: list[str] = field(default_factory=list)
    #: What the stack file says beyond the values: secret paths, YAML 1.1 booleans.
    source: StackFile | None = None

    @property
    def region(self) -> str:
        return self.values.get("aws:region", "us-east-1")


@dataclass
class Project:
    root: Path
    name: str
    stack_config_dir: Path

    def stack_names(self) -> list[str]:
        return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in self.stack_config_dir.glob("Pulumi.*.yaml"))

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"


def find_project(start: Path | None = None) -> Project:
    """Walk up from `start` (default: the current directory) to the `Pulumi.yaml`, as the Pulumi CLI does."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "Pulumi.yaml"
        if candidate.is_file():
            try:
                data = stack_file.load_yaml(stack_file.read_text(candidate), str(candidate))[0] or {}
            except stack_file.StackFileError as exc:
                raise InputError("\n  ".join(exc.problems)) from None
            return Project(
                root=directory,
                name=str(data.get("name", directory.name)),
                stack_config_dir=directory / str(data.get("stackConfigDir", ".")),
            )
    raise InputError(f"no Pulumi.yaml found in {here} or any parent directory")


def load_stack_config(project: Project, stack: str, config_file: Path | None = None) -> StackConfig:
    path = config_file or project.stack_file(stack)
    if not path.is_file():
        known = ", ".join(project.stack_names()) or "none"
        raise InputError(f"no stack file {path} (stacks available: {known})")
    try:
        source = stack_file.read(path, project.name)
    except stack_file.StackFileError as exc:
        raise InputError("\n  ".join(exc.problems)) from None
    return StackConfig(stack, path, source.values, source.secret_keys, source.placeholders, source)
