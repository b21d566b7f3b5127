"""Test helpers: plan a config in-process and query the recorded resources."""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlplat.cli import main
from mlplat.plan import add_verdict, build_plan
from mlplat.project import find_project, load_stack_config

ROOT = Path(__file__).resolve().parents[1]

BASE_CONFIG: dict[str, Any] = {
    "aws:region": "us-east-1",
    "ml-platform:environment": "dev",
    "ml-platform:tags": {"owner": "team-a", "costCenter": "cc-1"},
    "ml-platform:network": {"vpcCidr": "10.0.0.0/16", "availabilityZones": ["us-east-1a", "us-east-1b"]},
}


#: A GPU cluster with a reserved p4de group and an on-demand p5 group (shared by several test modules).
P4DE: dict[str, Any] = {"name": "p4de", "instanceType": "p4de.24xlarge", "availabilityZone": "us-east-1a",
                        "capacityReservationId": "cr-0123456789abcdef0", "minSize": 0, "desiredSize": 0,
                        "maxSize": 16}
P5: dict[str, Any] = {"name": "p5", "instanceType": "p5.48xlarge", "availabilityZone": "us-east-1b",
                      "minSize": 0, "desiredSize": 1, "maxSize": 4, "volumeSizeGiB": 800}
CLUSTER: dict[str, Any] = {"enabled": True, "publicAccessCidrs": ["198.51.100.0/24"],
                           "adminRoleArns": ["arn:aws:iam::123456789012:role/admin"], "nodeGroups": [P4DE, P5]}


#: A live chat with placeholder secrets (`liveChat`).
CHAT = {"enabled": True, "talkdesk": {
    "authUrl": "https://acme.talkdeskid.com/oauth/token", "apiUrl": "https://api.talkdeskappca.com/digital-connect",
    "touchpointId": {"secure": "v1:TOUCHPOINTCIPHER"}, "clientId": {"secure": "v1:CLIENTIDCIPHER"},
    "clientSecret": {"secure": "v1:CLIENTSECRETCIPHER"}}}


def config(**overrides: Any) -> dict[str, Any]:
    """BASE_CONFIG with `ml-platform:<key>` overrides (None removes a key)."""
    cfg = copy.deepcopy(BASE_CONFIG)
    for key, value in overrides.items():
        full = key if ":" in key else f"ml-platform:{key}"
        if value is None:
            cfg.pop(full, None)
        else:
            cfg[full] = value
    return cfg


def values(cfg: dict[str, Any]) -> dict[str, str]:
    """A config dict as the engine passes it: structured values as JSON strings."""
    return {k: json.dumps(v) if isinstance(v, dict | list) else str(v) for k, v in cfg.items()}


class PlanView:
    """Read-only queries over a plan document; failures name the URN.

    `judged=False`: a document built without the policy pack's verdict (`build_plan(judge=False)`); the verdict
    is added the first time a test reads the whole document (`.plan`), so that the many tests that only read
    resources, outputs or diagnostics do not pay for judging (a fifth of a plan's time).
    """

    def __init__(self, plan: dict[str, Any], judged: bool = True, verdict_file: Path | None = None) -> None:
        self._plan = plan
        self._judged = judged
        #: Where the workers of this run share the verdict of a shared plan (the first to judge it writes it).
        self._verdict_file = verdict_file
        self.resources: list[dict[str, Any]] = plan["resources"]
        self.outputs: dict[str, Any] = plan["outputs"]
        self.diagnostics: list[dict[str, str]] = plan["diagnostics"]
        self.cost: dict[str, Any] = plan["cost"]

    @property
    def plan(self) -> dict[str, Any]:
        """The whole plan document, the pack's verdict included."""
        if not self._judged:
            if self._verdict_file is None:
                add_verdict(self._plan)
            else:
                with open(self._verdict_file.with_suffix(".lock"), "w") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    if self._verdict_file.is_file():
                        self._plan["policy"] = json.loads(self._verdict_file.read_text())
                    else:
                        self._verdict_file.write_text(json.dumps(add_verdict(self._plan)["policy"]))
            self._judged = True
        return self._plan

    def of_type(self, typ: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == typ]

    def get(self, typ: str, name: str) -> dict[str, Any]:
        found = [r for r in self.of_type(typ) if r["name"] == name]
        assert len(found) == 1, f"expected one {typ} named {name}; have {[r['name'] for r in self.of_type(typ)]}"
        return found[0]

    def by_urn(self, urn: str) -> dict[str, Any]:
        return next(r for r in self.resources if r["urn"] == urn)

    def children(self, parent: dict[str, Any]) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["parent"] == parent["urn"]]

    def text(self) -> str:
        return json.dumps(self.plan)


_PLANS: dict[str, PlanView] = {}


def _shared_dir() -> Path:
    """A folder every worker of this test run shares (pytest-xdist gives the run one id)."""
    run = os.environ.get("MLPLAT_TEST_RUN") or f"pid{os.getpid()}"
    folder = Path(tempfile.gettempdir()) / f"mlplat-test-plans-{run}"
    folder.mkdir(exist_ok=True)
    return folder


def planned_once(key: str, plan: Any) -> PlanView:
    """`plan()` once per test run: the first worker plans and writes the document, the others read it.

    `plan()` returns a view of a document not judged yet; the first process whose test reads `.plan` judges it and
    shares the verdict the same way.
    """
    if key in _PLANS:
        return _PLANS[key]
    path = _shared_dir() / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".json")
    verdict = path.with_name(path.stem + "-verdict.json")
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.is_file():
            view = PlanView(json.loads(path.read_text()), judged=False, verdict_file=verdict)
        else:
            view = plan()
            path.write_text(json.dumps(view._plan))
            view._verdict_file = verdict
    _PLANS[key] = view
    return view


def plan_config(tmp_path: Path, cfg: dict[str, Any], stack: str | None = None, program: Any = None,
                mock_options: dict[str, Any] | None = None) -> PlanView:
    """Plan `cfg` as the stack named after its environment (so physical names are the environment's: `mlplat-dev`).

    The same config (with the real program and default mocks) is planned once per test run and shared,
    so tests must not modify the returned view.
    """
    stack = stack or str(cfg.get("ml-platform:environment", "dev"))
    if program is not None or mock_options is not None:
        return _plan_config(tmp_path, cfg, stack, program, mock_options)
    return planned_once(json.dumps([stack, cfg], sort_keys=True),
                        lambda: _plan_config(tmp_path, cfg, stack, program, mock_options))


def _plan_config(tmp_path: Path, cfg: dict[str, Any], stack: str, program: Any,
                 mock_options: dict[str, Any] | None) -> PlanView:
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": cfg}))
    project = find_project(ROOT)
    return PlanView(build_plan(project, load_stack_config(project, stack, path), program=program,
                               mock_options=mock_options, judge=False), judged=False)


#: The tests' own environments: copies of the shipped stacks that behaviour tests may rely on, so that a user
#: editing `stacks/Pulumi.<env>.yaml` (the examples) breaks no test but "every shipped stack plans clean".
ENVIRONMENTS = ROOT / "tests" / "fixtures" / "stacks"


def plan_stack(stack: str, *, first_preview: bool = False, config_file: Path | None = None) -> PlanView:
    """A stack file planned once per test run (default: the shipped `stacks/Pulumi.<stack>.yaml`).

    Keyed by the file's content: a test environment identical to its shipped stack is planned once for both.
    `first_preview`: as the first `pulumi preview` of a new stack sees it (computed values unknown).
    """
    project = find_project(ROOT)
    path = config_file or project.stack_file(stack)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    key = f"{'first' if first_preview else 'update'}:{stack}:{digest}"
    return planned_once(key, lambda: PlanView(build_plan(project, load_stack_config(project, stack, path),
                                                         first_preview=first_preview, judge=False), judged=False))


def plan_environment(env: str, *, first_preview: bool = False) -> PlanView:
    """One of the tests' own environments (tests/fixtures/stacks/Pulumi.<env>.yaml), planned once per run."""
    return plan_stack(env, first_preview=first_preview, config_file=ENVIRONMENTS / f"Pulumi.{env}.yaml")


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path = ROOT) -> CliResult:
    """`mlplat <args>` in-process (`main(argv)`), from `cwd`, capturing both streams."""
    out, err = io.StringIO(), io.StringIO()
    before = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(before)
    return CliResult(code, out.getvalue(), err.getvalue())


class LocalServer:
    """An HTTP server on 127.0.0.1 (a free port) in a daemon thread, stopped at once on close.

    `serve_forever` polls for shutdown every 0.5 s by default; at 5 ms a test pays nothing to stop it.
    """

    POLL_S = 0.005

    def __init__(self, handler: type) -> None:
        from http.server import ThreadingHTTPServer
        from threading import Thread

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = Thread(target=self.server.serve_forever, kwargs={"poll_interval": self.POLL_S}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
