"""Generates the component reference (docs/components.md): for each component, its type token, constructor,
inputs (the args model's fields) and typed outputs, read from the code itself.

The components' modules are read as source (no provider SDK is imported); their args models are imported
(pydantic only). `make generate` writes it; a test keeps it in sync.

    python -m stacks.components_reference --write docs/components.md
"""

from __future__ import annotations

import argparse
import ast
import importlib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from stacks.reference import rows

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Component:
    name: str
    module: str
    token: str
    signature: str
    doc: str
    args_model: str | None
    #: Output attribute -> its annotation (class level), for the keys `register_outputs` publishes.
    outputs: dict[str, str] = field(default_factory=dict)


def _is_component(node: ast.ClassDef) -> bool:
    return any(ast.unparse(b) == "pulumi.ComponentResource" for b in node.bases)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _component(node: ast.ClassDef, module: str) -> Component | None:
    init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if init is None:
        return None
    token = next((c.args[0].value for c in ast.walk(init) if isinstance(c, ast.Call)
                  and isinstance(c.func, ast.Attribute) and c.func.attr == "__init__" and c.args
                  and isinstance(c.args[0], ast.Constant)), "")
    params = ast.unparse(init.args).removeprefix("self, ").removeprefix("self")
    args = next((a for a in init.args.args if a.arg == "args"), None)
    annotations = {n.target.id: ast.unparse(n.annotation) for n in node.body
                   if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    published: list[str] = []
    for call in ast.walk(node):
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr == "register_outputs" and call.args and isinstance(call.args[0], ast.Dict)):
            published += [k.value for k in call.args[0].keys if isinstance(k, ast.Constant)]
    by_camel = {_camel(a): a for a in annotations}
    outputs = {key: annotations.get(by_camel.get(key, ""), "pulumi.Output") for key in published}
    return Component(node.name, module, token, f"{node.name}({params})",
                     (ast.get_docstring(node) or "").split("\n\n")[0].replace("\n", " "),
                     ast.unparse(args.annotation) if args is not None and args.annotation else None, outputs)


def components(root: Path = ROOT) -> list[Component]:
    out = []
    for path in sorted((root / "components").rglob("*.py")):
        if "handlers" in path.parts or "catalog" in path.parts:
            continue
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        for node in ast.parse(path.read_text(), str(path)).body:
            if isinstance(node, ast.ClassDef) and _is_component(node):
                found = _component(node, module)
                if found is not None:
                    out.append(found)
    return out


def _args_model(component: Component) -> type[BaseModel] | None:
    if component.args_model is None:
        return None
    package = component.module.rsplit(".", 1)[0]
    try:
        model = getattr(importlib.import_module(f"{package}.args"), component.args_model)
    except (ImportError, AttributeError):
        return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def markdown(root: Path = ROOT) -> str:
    lines = ["# Component reference", "",
             "Generated from `components/` by `python -m stacks.components_reference`; do not edit by hand.",
             "Inputs are each args model's fields (camelCase, as in a stack file); outputs are what the component",
             "registers, with the type of the attribute that carries it (`component.<snake_case>`).", ""]
    for c in components(root):
        lines += [f"## {c.name}", "", f"`{c.token}` in `{c.module.replace('.', '/')}.py`", ""]
        if c.doc:
            lines += [c.doc, ""]
        lines += ["```python", c.signature, "```", ""]
        model = _args_model(c)
        if model is not None:
            lines += [f"Inputs (`{c.args_model}`):", "", "| key | type | default | description |", "|---|---|---|---|",
                      *rows(model, ""), ""]
        if c.outputs:
            lines += ["Outputs:", "", "| output | type |", "|---|---|"]
            lines += [f"| `{k}` | `{v}` |" for k, v in c.outputs.items()]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, required=True, metavar="FILE", help="e.g. docs/components.md")
    args = parser.parse_args(argv)
    args.write.write_text(markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
