"""Secrets a Pulumi ESC environment supplies: secret to the engine, absent from the stack file.

A stack file that imports an environment (`environment: [...]`) gets the environment's `pulumiConfig` merged into
its config by the engine; a `fn::secret` value arrives decrypted in PULUMI_CONFIG with its top-level key in
PULUMI_CONFIG_SECRET_KEYS (pulumi `pkg/workspace/config.go` marks it secure, `source_eval.go` passes
`Config.SecureKeys()`). Only a plaintext value written in the file itself is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from stacks.config import parse
from stacks.errors import ConfigError
from stacks.stack_file import read
from tests.helpers import CHAT, config, values


def _chat_without_secrets() -> dict:
    talkdesk = {k: v for k, v in CHAT["talkdesk"].items() if k in ("authUrl", "apiUrl")}
    return {"enabled": True, "talkdesk": talkdesk}


def _esc_stack(tmp_path: Path) -> Path:
    """A stack file that writes no secret: the Talkdesk credentials come from the ESC environment it imports."""
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"environment": ["ml-platform/dev-talkdesk"],
                                    "config": config(liveChat=_chat_without_secrets())}))
    return path


def _engine_values(talkdesk_secrets: dict) -> dict[str, str]:
    """What the engine passes after merging the environment (JSON merge patch) into the stack's config."""
    merged = config(liveChat=_chat_without_secrets())
    merged["ml-platform:liveChat"]["talkdesk"].update(talkdesk_secrets)
    return values(merged)


SECRETS = {"touchpointId": "tp-123", "clientId": "client-1", "clientSecret": "s3cr3t"}


def test_secrets_from_an_esc_environment_are_accepted(tmp_path):
    source = read(_esc_stack(tmp_path), "ml-platform")
    cfg = parse(_engine_values(SECRETS), ["ml-platform:liveChat"], stack="dev", source=source)
    assert cfg.live_chat.talkdesk.client_secret.get_secret_value() == "s3cr3t"


def test_an_esc_value_the_engine_does_not_mark_secret_is_refused(tmp_path):
    """A plain (not `fn::secret`) environment value for a secret field: the engine lists no secret key."""
    source = read(_esc_stack(tmp_path), "ml-platform")
    with pytest.raises(ConfigError) as info:
        parse(_engine_values(SECRETS), [], stack="dev", source=source)
    assert len(info.value.problems) == 3
    assert all("expected a secret" in p for p in info.value.problems)


def test_a_plaintext_secret_in_the_file_is_refused_even_when_the_key_is_secret(tmp_path):
    """The file writes clientSecret in plain text next to an ESC-supplied secret sibling: still refused."""
    chat = _chat_without_secrets()
    chat["talkdesk"]["clientSecret"] = "written-in-the-file"
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"environment": ["x"], "config": config(liveChat=chat)}))
    source = read(path, "ml-platform")
    engine = json.loads(_engine_values({"touchpointId": "tp", "clientId": "c"})["ml-platform:liveChat"])
    engine["talkdesk"]["clientSecret"] = "written-in-the-file"
    raw = {**_engine_values({}), "ml-platform:liveChat": json.dumps(engine)}
    with pytest.raises(ConfigError) as info:
        parse(raw, ["ml-platform:liveChat"], stack="dev", source=source)
    (line,) = info.value.problems
    assert line.startswith("ml-platform:liveChat.talkdesk.clientSecret: expected a secret")
