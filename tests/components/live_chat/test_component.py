"""LiveChat infrastructure: routes and authorizer, scoped permissions, API key, table, logs, secrets kept out."""

from __future__ import annotations

import json

import pytest

from tests.helpers import CHAT, ROOT, config, plan_config


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    return plan_config(tmp_path_factory.mktemp("chat"), config(liveChat=CHAT))


def _get(view, typ, suffix):
    return view.get(typ, f"mlplat-dev-chat-{suffix}")


def test_websocket_routes_and_connect_authorizer(view):
    api = _get(view, "aws:apigatewayv2/api:Api", "ws")
    assert api["inputs"]["protocolType"] == "WEBSOCKET"
    assert api["inputs"]["routeSelectionExpression"] == "$request.body.action"
    routes = {r["inputs"]["routeKey"]: r["inputs"] for r in view.of_type("aws:apigatewayv2/route:Route")}
    assert set(routes) == {"$connect", "$disconnect", "onMessage"}
    authorizer = _get(view, "aws:apigatewayv2/authorizer:Authorizer", "connect-authorizer")
    assert routes["$connect"]["authorizationType"] == "CUSTOM"
    assert routes["$connect"]["authorizerId"] == authorizer["id"]
    assert authorizer["inputs"]["identitySources"] == ["route.request.querystring.conversationId"]
    fn = _get(view, "aws:lambda/function:Function", "authorizer")
    assert authorizer["inputs"]["authorizerUri"] == fn["outputs"]["invokeArn"]
    stage = _get(view, "aws:apigatewayv2/stage:Stage", "ws-stage")["inputs"]
    logs = _get(view, "aws:cloudwatch/logGroup:LogGroup", "ws-access-logs")
    assert stage["accessLogSettings"]["destinationArn"] == logs["outputs"]["arn"]
    assert stage["defaultRouteSettings"]["throttlingRateLimit"] == 50
    assert stage["defaultRouteSettings"]["throttlingBurstLimit"] == 100


def test_permissions_are_scoped_by_source_arn(view):
    api = _get(view, "aws:apigatewayv2/api:Api", "ws")["outputs"]["executionArn"]
    rest = _get(view, "aws:apigateway/restApi:RestApi", "callback")["outputs"]["executionArn"]
    alias = _get(view, "aws-native:lex:BotAlias", "bot-alias")["outputs"]["arn"]
    authorizer = _get(view, "aws:apigatewayv2/authorizer:Authorizer", "connect-authorizer")["id"]
    perms = {p["name"].removeprefix("mlplat-dev-chat-"): p["inputs"] for p in
             view.of_type("aws:lambda/permission:Permission")}
    assert perms["ws-connect-invoke"]["sourceArn"] == f"{api}/live/$connect"
    assert perms["ws-message-invoke"]["sourceArn"] == f"{api}/live/onMessage"
    assert perms["authorizer-invoke"]["sourceArn"] == f"{api}/authorizers/{authorizer}"
    assert perms["callback-invoke"]["sourceArn"] == f"{rest}/*/POST/callback"
    assert perms["lex-invoke"] == {"action": "lambda:InvokeFunction", "function": "mlplat-dev-chat-fulfillment",
                                   "principal": "lexv2.amazonaws.com", "sourceArn": alias}


def test_callback_api_requires_a_key_with_usage_plan(view):
    method = _get(view, "aws:apigateway/method:Method", "callback-post")["inputs"]
    assert method["httpMethod"] == "POST" and method["apiKeyRequired"] is True
    plan = _get(view, "aws:apigateway/usagePlan:UsagePlan", "callback-plan")["inputs"]
    assert plan["throttleSettings"] == {"rateLimit": 20, "burstLimit": 40}
    key = _get(view, "aws:apigateway/apiKey:ApiKey", "talkdesk-key")
    plan_key = _get(view, "aws:apigateway/usagePlanKey:UsagePlanKey", "callback-plan-key")["inputs"]
    assert plan_key["keyId"] == key["id"] and plan_key["keyType"] == "API_KEY"
    assert key["outputs"]["value"] == "[secret]" and view.outputs["apiGatewayApiKey"] == "[secret]"
    stage = _get(view, "aws:apigateway/stage:Stage", "callback-stage")["inputs"]
    assert stage["accessLogSettings"]["destinationArn"]
    settings = _get(view, "aws:apigateway/methodSettings:MethodSettings", "callback-settings")["inputs"]
    assert settings["settings"]["throttlingRateLimit"] == 20


def test_table_kms_pitr_ttl_and_reverse_index(view):
    table = _get(view, "aws:dynamodb/table:Table", "conversations")["inputs"]
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")["outputs"]["arn"]
    assert table["billingMode"] == "PAY_PER_REQUEST" and table["hashKey"] == "conversation_id"
    assert table["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key}
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["ttl"] == {"attributeName": "expires_at", "enabled": True}
    assert table["globalSecondaryIndexes"][0]["keySchemas"] == [{"attributeName": "connection_id", "keyType": "HASH"}]


def test_functions_logs_and_least_privilege(view):
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")["outputs"]["arn"]
    for role in ("fulfillment", "authorizer", "websocket", "callback"):
        fn = _get(view, "aws:lambda/function:Function", role)
        logs = _get(view, "aws:cloudwatch/logGroup:LogGroup", f"{role}-logs")
        assert logs["inputs"]["name"] == f"/aws/lambda/mlplat-dev-chat-{role}"
        assert logs["inputs"]["retentionInDays"] == 30 and logs["inputs"]["kmsKeyId"] == key
        module, _, entry = fn["inputs"]["handler"].partition(".")
        assert fn["inputs"]["runtime"] == "python3.12" and entry == "handler"
        assert f"{module}.py" in fn["inputs"]["code"]["assetArchive"], "the handler module is in the package"
        assert fn["inputs"]["loggingConfig"]["logGroup"] == logs["inputs"]["name"]
        assert sorted(fn["inputs"]["code"]["assetArchive"]) == sorted(
            p.name for p in (ROOT / "components" / "live_chat" / "handlers").glob("*.py"))
    env = _get(view, "aws:lambda/function:Function", "callback")["inputs"]["environment"]["variables"]
    assert env["TALKDESK_API_URL"] == "https://api.talkdeskappca.com/digital-connect"
    assert env["WEBSOCKET_ENDPOINT"].endswith(".execute-api.us-east-1.amazonaws.com/live")
    policies = {role: json.loads(_get(view, "aws:iam/rolePolicy:RolePolicy", f"{role}-role")["inputs"]["policy"])
                for role in ("authorizer", "callback")}
    authorizer_actions = {a for s in policies["authorizer"]["Statement"] for a in
                          (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert "dynamodb:GetItem" in authorizer_actions and "dynamodb:UpdateItem" not in authorizer_actions
    assert "secretsmanager:GetSecretValue" not in authorizer_actions
    push = next(s for s in policies["callback"]["Statement"] if s["Sid"] == "PushToCustomers")
    api = _get(view, "aws:apigatewayv2/api:Api", "ws")["outputs"]["executionArn"]
    assert push["Resource"] == f"{api}/live/POST/@connections/*"


def test_secrets_encrypted_and_never_in_the_plan(view):
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")["outputs"]["arn"]
    secrets = {s["inputs"]["name"]: s for s in view.of_type("aws:secretsmanager/secret:Secret")}
    assert set(secrets) == {"dev/talkdesk/touchpoint/ids", "dev/talkdesk/client/keys"}
    assert all(s["inputs"]["kmsKeyId"] == key for s in secrets.values())
    for version in view.of_type("aws:secretsmanager/secretVersion:SecretVersion"):
        assert version["inputs"]["secretString"] == "[secret]"
    text = view.text()
    for needle in ("CIPHER", "offline-secret-"):
        assert needle not in text


def test_lex_bot_alias_and_loader_config(view):
    bot = _get(view, "aws-native:lex:Bot", "bot")["inputs"]
    locale = bot["botLocales"][0]
    intents = {i["name"]: i for i in locale["intents"]}
    assert locale["localeId"] == "en_US" and bot["autoBuildBotLocales"] is True
    assert intents["FallbackIntent"]["parentIntentSignature"] == "AMAZON.FallbackIntent"
    assert intents["TalkToAgent"]["fulfillmentCodeHook"] == {"enabled": True}
    assert {"utterance": "talk to an agent"} in intents["TalkToAgent"]["sampleUtterances"]
    alias = _get(view, "aws-native:lex:BotAlias", "bot-alias")["inputs"]
    fn = _get(view, "aws:lambda/function:Function", "fulfillment")["outputs"]["arn"]
    hook = alias["botAliasLocaleSettings"][0]["botAliasLocaleSetting"]["codeHookSpecification"]["lambdaCodeHook"]
    assert hook == {"codeHookInterfaceVersion": "1.0", "lambdaArn": fn}
    assert alias["botVersion"] == "1"
    loader = json.loads(view.outputs["lexWebUiLoaderConfig"])
    assert loader == {"ui": {"enableLiveChat": True},
                      "connect": {"talkDeskWebsocketEndpoint": view.outputs["webSocketApiEndpoint"]}}
    assert set(view.outputs) >= {"apiGatewayApiKey", "botAliasId", "botId", "callbackRestApi",
                                         "webSocketApiEndpoint"}


def test_logging_stages_wait_for_the_account_role_which_waits_for_its_policy(view):
    """First deployments in a region failed with "CloudWatch Logs role ARN must be set in account settings"."""
    account = view.get("aws:apigateway/account:Account", "mlplat-dev-chat-apigw-account")
    attachment = view.get("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "mlplat-dev-chat-apigw-logs")
    assert attachment["urn"] in account["dependencies"]
    for typ, stage in (("aws:apigatewayv2/stage:Stage", "mlplat-dev-chat-ws-stage"),
                       ("aws:apigateway/stage:Stage", "mlplat-dev-chat-callback-stage")):
        assert account["urn"] in view.get(typ, stage)["dependencies"], stage


def test_websocket_lambda_integration_is_invoked_with_post(view):
    integration = view.get("aws:apigatewayv2/integration:Integration", "mlplat-dev-chat-ws-integration")["inputs"]
    assert integration["integrationType"] == "AWS_PROXY" and integration["integrationMethod"] == "POST"


def test_a_changed_bot_gets_a_new_version_and_the_alias_follows(tmp_path, view):
    from components.live_chat.args import LiveChatArgs
    from components.live_chat.component import bot_definition

    version = view.get("aws-native:lex:BotVersion", "mlplat-dev-chat-bot-version")
    alias = view.get("aws-native:lex:BotAlias", "mlplat-dev-chat-bot-alias")
    assert version["urn"] in alias["dependencies"]
    assert view.get("aws-native:lex:Bot", "mlplat-dev-chat-bot")["urn"] in version["dependencies"]
    changed = dict(CHAT, sampleUtterances=["get me a human"])
    other = plan_config(tmp_path, config(liveChat=changed)).get("aws-native:lex:BotVersion", version["name"])
    assert other["inputs"]["description"] != version["inputs"]["description"], "new content, new description"
    plain = {"enabled": True, "talkdesk": {**CHAT["talkdesk"], "touchpointId": "t", "clientId": "c",
                                           "clientSecret": "s"}}
    assert version["inputs"]["description"].endswith(bot_definition(LiveChatArgs.model_validate(plain)))


def test_the_websocket_function_may_flush_and_sweep_and_runs_every_five_minutes(view):
    fn = _get(view, "aws:lambda/function:Function", "websocket")
    assert fn["inputs"]["environment"]["variables"]["WEBSOCKET_ENDPOINT"].endswith("/live")
    statements = {s["Sid"]: s for s in json.loads(
        _get(view, "aws:iam/rolePolicy:RolePolicy", "websocket-role")["inputs"]["policy"])["Statement"]}
    # Its own ARN, built from its name before it exists, is the ARN AWS gives it.
    assert statements["InvokeSelf"]["Resource"] == fn["outputs"]["arn"]
    assert statements["InvokeSelf"]["Action"] == ["lambda:InvokeFunction"]
    table = _get(view, "aws:dynamodb/table:Table", "conversations")["outputs"]["arn"]
    assert "dynamodb:Scan" in statements["Table"]["Action"]
    assert statements["Table"]["Resource"] == [table, f"{table}/index/*"]
    rule = _get(view, "aws:cloudwatch/eventRule:EventRule", "keep-alive")
    assert rule["inputs"]["scheduleExpression"] == "rate(5 minutes)"
    target = _get(view, "aws:cloudwatch/eventTarget:EventTarget", "keep-alive")["inputs"]
    assert target["arn"] == fn["outputs"]["arn"] and target["rule"] == rule["outputs"]["name"]
    permission = _get(view, "aws:lambda/permission:Permission", "keep-alive-invoke")["inputs"]
    assert permission["principal"] == "events.amazonaws.com" and permission["sourceArn"] == rule["outputs"]["arn"]
