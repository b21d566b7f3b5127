"""`mlplat`: the ml-platform command line, offline unless a command says otherwise.

Commands: `plan` (run the program under the mock engine and print the preview), `check` (the policy
pack on a saved plan), `cost` (hourly cost at idle and at maximum size), `graph` (deployment graph
and critical path), `invoke` (call a deployed endpoint; needs AWS credentials), `bedrock
validate-data` (a fine-tuning manifest), `corpus curate` (a domain corpus for continual pre-training; needs
the `corpus` extra), `rag ingest|query` (the RAG service's local mode; the `rag` extra) and
`config-reference` (the configuration reference).

Exit codes: 0 clean, 1 a mandatory policy violation, 2 invalid configuration or input, 3 an
internal error (a bug: please report it with MLPLAT_DEBUG=1 output).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from mlplat import bedrock_cli, corpus_cli, rag_cli
from mlplat.project import InputError, find_project, load_stack_config
from stacks.stack_file import StackFileError, load_json, read_text

EXIT_OK, EXIT_VIOLATION, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mlplat", description="ml-platform offline tools (no AWS credentials needed)")
    sub = p.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="run the program under the mock engine and print the preview")
    plan.add_argument("stack", help="stack name: reads <stackConfigDir>/Pulumi.<stack>.yaml")
    plan.add_argument("--json", type=Path, metavar="FILE", help="also write the plan document to FILE")
    plan.add_argument("--config-file", type=Path, metavar="PATH", help="stack config file to use instead")
    plan.add_argument("--quiet", action="store_true", help="print only the summary line")
    plan.add_argument("--details", action="store_true", help="list every resource and every resource type")
    plan.add_argument("--first-preview", action="store_true",
                      help="plan as the first `pulumi preview` of a new stack sees it: ids, ARNs and every value "
                           "built from them unknown; lists which policies could run")
    plan.add_argument("--policy-config", type=Path, metavar="FILE",
                      help="pack config to judge with, as `pulumi preview --policy-pack-config FILE` would (default: "
                           "policies/config/<environment>.json); the stack's own ml-platform:policy settings still "
                           "apply over it")
    check = sub.add_parser("check", help="evaluate the policy pack on a saved plan")
    check.add_argument("plan", type=Path, help="a plan written by `mlplat plan --json`, or the Pulumi CLI's "
                                               "`pulumi stack export` / `pulumi preview --json` of a real stack")
    check.add_argument("--policy-config", type=Path, metavar="FILE",
                       help="pack config (default: policies/config/<environment of the plan>.json)")
    inv = sub.add_parser("invoke", help="send a prompt to a deployed endpoint of a stack (needs AWS credentials)")
    inv.add_argument("stack", help="stack name (reads its stack file for the region and endpoints)")
    inv.add_argument("endpoint", help="the endpoint's name in the stack config (endpoints[].name)")
    what = inv.add_mutually_exclusive_group(required=True)
    what.add_argument("--message", help="user message (chat/TGI models) or text to embed")
    what.add_argument("--file", type=Path, help="a JSON payload to send as is")
    inv.add_argument("--system", help="system prompt for chat models")
    inv.add_argument("--max-tokens", type=int, default=512, help="longest answer, chat models (default: %(default)s)")
    inv.add_argument("--endpoint-name", help="the deployed endpoint's name (default: found by its prefix)")
    inv.add_argument("--inference-component", metavar="NAME",
                     help="the inference component to call on an endpoint serving them (default: the one it serves; "
                          "the stack output inferenceComponentNames names it)")
    inv.add_argument("--config-file", type=Path, metavar="PATH", help="stack config file to use instead")
    cost = sub.add_parser("cost", help="hourly cost of a stack at idle and at maximum size")
    cost.add_argument("stack", help="stack name: reads <stackConfigDir>/Pulumi.<stack>.yaml")
    cost.add_argument("--config-file", type=Path, metavar="PATH", help="stack config file to use instead")
    graph = sub.add_parser("graph", help="deployment graph (Mermaid or DOT) and critical path")
    graph.add_argument("stack", help="stack name: reads <stackConfigDir>/Pulumi.<stack>.yaml")
    graph.add_argument("--format", choices=("mermaid", "dot"), default="mermaid",
                       help="Mermaid (renders on GitHub) or Graphviz DOT (default: %(default)s)")
    graph.add_argument("--output", type=Path, metavar="FILE", help="write the graph to FILE")
    graph.add_argument("--detail", action="store_true",
                       help="one node per resource (default: one node per component)")
    graph.add_argument("--config-file", type=Path, metavar="PATH", help="stack config file to use instead")
    bedrock = sub.add_parser("bedrock", help="Bedrock helpers")
    bsub = bedrock.add_subparsers(dest="bedrock_command", required=True)
    vd = bsub.add_parser("validate-data", help="check a Titan Image Generator fine-tuning manifest")
    vd.add_argument("manifest", type=Path, help="the JSONL manifest ({image-ref, caption} per line)")
    vd.add_argument("--images-dir", type=Path, help="local copies of the images (checked: exist, PNG/JPEG, size)")
    bedrock_cli.add_parser(bsub)
    corpus_cli.add_parser(sub)
    rag_cli.add_parser(sub)
    ref = sub.add_parser("config-reference", help="print the configuration reference (Markdown)")
    ref.add_argument("--write", type=Path, metavar="FILE", help="write it to FILE instead")
    return p


def cmd_invoke(args: argparse.Namespace) -> int:
    from components.catalog.jumpstart import PINNED
    from mlplat.invoke import ColdStart, build_payload, invoke, render_answer
    from stacks.config import parse
    from stacks.errors import ConfigError

    project = find_project()
    stack_cfg = load_stack_config(project, args.stack, args.config_file)
    try:
        cfg = parse(stack_cfg.values, stack_cfg.secret_keys, stack=args.stack, source=stack_cfg.source)
    except ConfigError as exc:
        raise InputError("invalid configuration: " + "; ".join(exc.problems)) from None
    endpoint = next((e for e in cfg.endpoints if e.name == args.endpoint), None)
    if endpoint is None:
        known = ", ".join(e.name for e in cfg.endpoints) or "none"
        raise InputError(f"stack {args.stack} has no endpoint {args.endpoint!r} (endpoints: {known})")
    spec = PINNED.get(endpoint.model_id)
    kind = spec.payload if spec else "tgi"
    if args.file:
        try:
            payload = json.loads(args.file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{args.file}: not a JSON payload: {exc}") from None
    else:
        payload = build_payload(kind, args.message, system=args.system, max_tokens=args.max_tokens)
    # A model on a shared endpoint: the endpoint is the shared one, the component the model's own.
    host = endpoint.shared_endpoint or endpoint.name
    name, body = invoke(region=cfg.region, prefix=f"{cfg.resource_prefix}-{host}", payload=payload,
                        endpoint_name=args.endpoint_name,
                        component=args.inference_component or (f"{cfg.resource_prefix}-{endpoint.name}-ic*"
                                                               if endpoint.shared_endpoint else None),
                        cold=ColdStart(on_cold=lambda line: print(line, file=sys.stderr, flush=True)))
    print(f"# {name}")
    print(render_answer(kind, body))
    return EXIT_OK


def cmd_bedrock(args: argparse.Namespace) -> int:
    if args.bedrock_command == "evaluate":
        return bedrock_cli.cmd(args)
    from components.bedrock.data import GUIDANCE, has_local_images, recommend_steps, validate_manifest

    if not args.manifest.is_file():
        raise InputError(f"{args.manifest}: no such manifest file")
    if args.images_dir is not None and not args.images_dir.is_dir():
        raise InputError(f"--images-dir {args.images_dir} is not a directory")
    report = validate_manifest(args.manifest, args.images_dir, local_images=has_local_images(args.manifest))
    for line in report.lines():
        print(line, file=sys.stderr)
    if not report.ok:
        print(f"{len(report.errors)} problem(s); no job should start on this data", file=sys.stderr)
        return EXIT_INPUT
    steps = recommend_steps(report.images)
    print(f"{report.images} images: OK. Recommended: stepCount={steps}, batchSize=8, learningRate=1e-5")
    print(GUIDANCE)
    return EXIT_OK


def cmd_config_reference(args: argparse.Namespace) -> int:
    from stacks.reference import markdown

    text = markdown()
    if args.write:
        writable(args.write, "--write")
        args.write.write_text(text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _has_mandatory(violations: list[dict]) -> bool:
    return any(v["enforcementLevel"] == "mandatory" for v in violations)


class _ConfigFailed(Exception):
    """Raised after the configuration problems were printed."""


def writable(path: Path, option: str) -> None:
    """Refuse an output path before the work starts, not after (exit 2)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{option} {path}: folder {folder} does not exist")
    if path.is_dir():
        raise InputError(f"{option} {path}: is a folder; expected a file path")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"{option} {path}: not writable")


class _Progress:
    """A progress line on stderr while the program runs, only when stderr is a terminal."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.enabled = sys.stderr.isatty()
        self.shown = 0

    def __call__(self, count: int, typ: str) -> None:
        if self.enabled and count - self.shown >= 5:
            self.shown = count
            sys.stderr.write(f"\r\033[Kplanning {self.stack}: {count} resources registered ({typ})")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _read_pack_config(path: Path | None) -> dict | None:
    if path is None:
        return None
    from policies.offline import read_pack_config

    try:
        return read_pack_config(path)
    except StackFileError as exc:
        raise InputError("; ".join(exc.problems)) from None


def _plan_for(stack: str, config_file: Path | None, *, first_preview: bool = False,
              policy_config: Path | None = None) -> tuple[dict, str]:
    from mlplat.plan import add_verdict, build_plan
    from policies.protocol import PackConfigError
    from stacks.errors import ConfigError

    project = find_project()
    cfg = load_stack_config(project, stack, config_file)
    pack_config = _read_pack_config(policy_config)  # a bad file is refused before anything is planned
    sys.path.insert(0, str(project.root))
    progress = _Progress(stack)
    try:
        plan = build_plan(project, cfg, on_register=progress, first_preview=first_preview, judge=False)
        progress.done()
        return add_verdict(plan, pack_config), cfg.region
    except PackConfigError as exc:
        raise InputError("the pack config does not fit the policies' schemas: " + "; ".join(exc.problems)) from None
    except ConfigError as exc:
        progress.done()
        print(f"invalid configuration in {cfg.path}:", file=sys.stderr)
        for line in exc.problems:
            print(f"  {line}", file=sys.stderr)
        raise _ConfigFailed from None
    finally:
        progress.done()


def cmd_cost(args: argparse.Namespace) -> int:
    plan, _ = _plan_for(args.stack, args.config_file)
    cost = plan["cost"]
    print(f"{args.stack}: idle ${cost['hourlyUsdIdle']:.2f}/h, max ${cost['hourlyUsdMax']:.2f}/h "
          f"(about ${cost['hourlyUsdIdle'] * 730:,.0f} per month idle)")
    print(f"  {'idle':>9} {'max':>9}  resource (detail) [source]")
    for item in cost["items"]:
        print(f"  {item['hourlyUsdIdle']:9.2f} {item['hourlyUsdMax']:9.2f}  {item['name']} ({item['detail']}) "
              f"[{item['source']}]")
    return EXIT_OK


def cmd_graph(args: argparse.Namespace) -> int:
    from mlplat.graph import render, summary

    if args.output:
        writable(args.output, "--output")
    plan, _ = _plan_for(args.stack, args.config_file)
    text = render(plan["resources"], args.format, detail=args.detail)
    if args.output:
        args.output.write_text(text)
        print(f"graph written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    # On stderr, so that `mlplat graph prod > prod.mmd` is a valid Mermaid file.
    sys.stderr.write(summary(plan["resources"]))
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from mlplat.plan import Style, render_text

    if args.json:
        writable(args.json, "--json")
    plan, region = _plan_for(args.stack, args.config_file, first_preview=args.first_preview,
                             policy_config=args.policy_config)
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    text = render_text(plan, region, details=args.details, style=Style(color))
    if args.quiet:
        text = text.splitlines()[0] + "\n"
    sys.stdout.write(text)
    if args.json:
        args.json.write_text(json.dumps(plan, indent=2, sort_keys=False) + "\n")
        print(f"plan written to {args.json}")
    return EXIT_VIOLATION if _has_mandatory(plan["policy"]["violations"]) else EXIT_OK


def _load_plan(path: Path) -> dict:
    """A saved plan, or what the Pulumi CLI wrote (`pulumi stack export`, `pulumi preview --json`: mlplat/imports.py),
    validated against the plan document's JSON Schema (the first error is reported)."""
    from mlplat.imports import as_plan
    from mlplat.schema import first_error

    try:
        plan = as_plan(load_json(read_text(path), str(path)))
    except StackFileError as exc:
        raise InputError("; ".join(exc.problems)) from None
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    problem = first_error(plan)
    if problem:
        raise InputError(f"{path}: not a plan document: {problem} (mlplat check reads `mlplat plan --json`, "
                         "`pulumi stack export` and `pulumi preview --json` documents)")
    return plan


def cmd_check(args: argparse.Namespace) -> int:
    from mlplat.plan import LEAK_POLICY, Style, check_policies, policy_lines

    plan = _load_plan(args.plan)
    pack_config = _read_pack_config(args.policy_config)
    from policies.protocol import PackConfigError

    try:
        verdict = check_policies(plan, pack_config)
    except PackConfigError as exc:
        raise InputError("the pack config does not fit the policies' schemas: " + "; ".join(exc.problems)) from None
    # A leak found while planning cannot be found again in the saved (scrubbed) plan: it is kept.
    leaks = [v for v in plan["policy"]["violations"] if v.get("policy") == LEAK_POLICY]
    violations = leaks + verdict.violations
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    lines = policy_lines({"violations": violations, "skipped": verdict.skipped}, Style(color),
                         first_preview=plan.get("preview") == "first")
    print("\n".join(lines))
    print(f"{len(violations)} violation(s), {sum(v['enforcementLevel'] == 'mandatory' for v in violations)} mandatory")
    return EXIT_VIOLATION if _has_mandatory(violations) else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {"plan": cmd_plan, "check": cmd_check, "invoke": cmd_invoke, "bedrock": cmd_bedrock,
                "cost": cmd_cost, "graph": cmd_graph, "corpus": corpus_cli.cmd, "rag": rag_cli.cmd,
                "config-reference": cmd_config_reference}
    try:
        return handlers[args.command](args)
    except StackFileError as exc:  # a pack config named by the plan's environment
        print("error: " + "\n  ".join(exc.problems), file=sys.stderr)
        return EXIT_INPUT
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except _ConfigFailed:
        return EXIT_INPUT
    except BrokenPipeError:  # output piped into `head`
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - a bug in a component must not dump a trace on users
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("MLPLAT_DEBUG"):
            traceback.print_exc()
        else:
            print("(set MLPLAT_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


def entry() -> None:
    """Console-script entry point.

    Exits with `os._exit` after flushing: the Pulumi runtime leaves per-thread asyncio loops whose
    finalizers fail noisily at interpreter shutdown, and there is nothing left to clean up.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
