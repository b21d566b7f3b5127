"""`LiveChat`: Lex V2 bot, the four Lambda functions, DynamoDB mapping table, Talkdesk secrets,
the customer WebSocket API and the Talkdesk callback REST API.

The Terraform-bridged provider has no Lex V2 bot alias, so the bot, its version and alias are
`pulumi_aws_native` resources (the alias calls the fulfillment function; the function's permission
for lexv2.amazonaws.com names the alias ARN). All invocations are synchronous (Lex, API Gateway):
there is no asynchronous invocation to dead-letter.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_aws_native as aws_native

from components.apigateway_account import api_gateway_account
from components.context import Env
from components.iam_documents import service_trust
from components.lambda_function import FunctionSpec, lambda_function
from components.live_chat.args import LiveChatArgs
from components.live_chat.edge import WAF_LOG_PREFIX, callback_model_schema, callback_web_acl
from components.live_chat.iam import ChatArns, function_policy

HANDLERS = Path(__file__).resolve().parent / "handlers"
FUNCTIONS = ("fulfillment", "authorizer", "websocket", "callback")
#: Function -> its handler module (not `websocket`: that name belongs to the websocket-client package).
HANDLER_MODULES = {"fulfillment": "fulfillment", "authorizer": "authorizer", "websocket": "customer_socket",
                   "callback": "callback"}
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "routeKey": "$context.routeKey",
    "status": "$context.status", "requestTime": "$context.requestTime", "connectionId": "$context.connectionId",
    "error": "$context.error.message", "integrationError": "$context.integrationErrorMessage",
})


def handler_code() -> pulumi.AssetArchive:
    """The handler modules only (no caches), so the package hash changes only with the code."""
    return pulumi.AssetArchive({p.name: pulumi.FileAsset(str(p)) for p in sorted(HANDLERS.glob("*.py"))})


NLU_THRESHOLD = 0.40
IDLE_SESSION_TTL_S = 600


def bot_definition(args: LiveChatArgs) -> str:
    """A short hash of everything the bot's DRAFT is built from (intents, utterances, locale settings)."""
    content = {"locale": "en_US", "nluConfidenceThreshold": NLU_THRESHOLD, "idleSessionTtl": IDLE_SESSION_TTL_S,
               "intents": {"TalkToAgent": sorted(args.sample_utterances), "FallbackIntent": "AMAZON.FallbackIntent"}}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


#: Function timeouts (seconds) by role; 10 for the rest.
FUNCTION_TIMEOUTS = {"fulfillment": 15, "websocket": 60}

class LiveChat(pulumi.ComponentResource):
    def __init__(self, name: str, args: LiveChatArgs, *, env: Env, opts: pulumi.ResourceOptions | None = None) -> None:
        """`env` must carry an `aws-native` provider (the Lex bot, version and alias are aws-native resources)."""
        super().__init__("mlplat:live_chat:LiveChat", name, None,
                         env.component_options(opts, former_types=("mlplat:livechat:LiveChat",)))
        if args.talkdesk is None:
            raise ValueError(f"{name}: live chat needs talkdesk settings (authUrl and the secret touchpointId, "
                             "clientId and clientSecret)")
        environment, region, protect, kms_key_arn = env.name, env.region, env.protect, env.key_arn
        self._name, self._key, self._retention, self._env = name, kms_key_arn, env.log_retention_days, env
        child = pulumi.ResourceOptions(parent=self)
        td = args.talkdesk
        touchpoint = self._secret("touchpoint", args.touchpoint_secret_name or f"{environment}/talkdesk/touchpoint/ids",
                                  pulumi.Output.secret(td.touchpoint_id.get_secret_value()).apply(
                                      lambda v: json.dumps({"touchpoint_id": v})), protect)
        client = self._secret("client", args.client_secret_name or f"{environment}/talkdesk/client/keys",
                              pulumi.Output.all(pulumi.Output.secret(td.client_id.get_secret_value()),
                                                pulumi.Output.secret(td.client_secret.get_secret_value())).apply(
                                  lambda v: json.dumps({"client_id": v[0], "client_secret": v[1]})), protect)
        table = aws.dynamodb.Table(
            f"{name}-conversations",
            billing_mode="PAY_PER_REQUEST",
            hash_key="conversation_id",
            attributes=[aws.dynamodb.TableAttributeArgs(name="conversation_id", type="S"),
                        aws.dynamodb.TableAttributeArgs(name="connection_id", type="S")],
            global_secondary_indexes=[aws.dynamodb.TableGlobalSecondaryIndexArgs(
                name="by-connection", projection_type="ALL",
                key_schemas=[aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name="connection_id",
                                                                                 key_type="HASH")])],
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=kms_key_arn),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            ttl=aws.dynamodb.TableTtlArgs(attribute_name="expires_at", enabled=True),
            deletion_protection_enabled=protect,
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )

        ws_api = aws.apigatewayv2.Api(
            f"{name}-ws", protocol_type="WEBSOCKET", route_selection_expression="$request.body.action",
            description="Customer side of the live chat (Lex Web UI)", opts=child)
        ws_stage_name = "live"
        connections_arn = pulumi.Output.concat(ws_api.execution_arn, f"/{ws_stage_name}/POST/@connections/*")
        ws_host = pulumi.Output.concat(ws_api.id, f".execute-api.{region}.amazonaws.com/{ws_stage_name}")
        ws_endpoint = pulumi.Output.concat("https://", ws_host)
        env_common = {"CONVERSATIONS_TABLE": table.name, "TALKDESK_TOUCHPOINT_SECRET_ID": touchpoint.arn,
                      "TALKDESK_CLIENT_SECRET_ID": client.arn, "TALKDESK_AUTH_URL": td.auth_url,
                      "TALKDESK_API_URL": td.api_url}
        # Where asynchronous work that failed every retry goes (the flush `$connect` starts, the sweep EventBridge
        # starts): kept 14 days, encrypted with the environment key, instead of vanishing.
        self._failures = aws.sqs.Queue(f"{name}-async-failures", kms_master_key_id=kms_key_arn,
                                       message_retention_seconds=1_209_600, opts=self._opts())
        fns = {
            role: self._function(role, env_common | ({"WEBSOCKET_ENDPOINT": ws_endpoint}
                                                     if role in ("callback", "websocket") else {}),
                                 table.arn, [touchpoint.arn, client.arn], connections_arn,
                                 getattr(args.reserved_concurrency, role) if args.reserve_concurrency else None)
            for role in FUNCTIONS
        }
        # Stages with logging need the region's CloudWatch role set first ("CloudWatch Logs role ARN must be
        # set in account settings"): they wait for the Account, which waits for the role's policy.
        self._logging_ready = [api_gateway_account(name, env, self)] if args.manage_api_gateway_account else []
        self._websocket(ws_api, ws_stage_name, fns, args)
        self._keep_alive(fns["websocket"])
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-websocket-async", function_name=fns["websocket"].name, maximum_retry_attempts=2,
            maximum_event_age_in_seconds=3600,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=self._failures.arn)), opts=self._opts())
        rest_url, api_key = self._callback_api(fns["callback"], args)
        bot, alias = self._lex(fns["fulfillment"], args, env.account_id)

        self.outputs = {
            "apiGatewayApiKey": pulumi.Output.secret(api_key),
            "botAliasId": alias.bot_alias_id,
            "botId": bot.id,
            "callbackRestApi": rest_url,
            "webSocketApiEndpoint": pulumi.Output.concat("wss://", ws_host),
        }
        self.outputs["lexWebUiLoaderConfig"] = self.outputs["webSocketApiEndpoint"].apply(
            lambda url: json.dumps({"ui": {"enableLiveChat": True}, "connect": {"talkDeskWebsocketEndpoint": url}}))
        self.conversations_table = table.name
        self.register_outputs(self.outputs)

    # -- building blocks ---------------------------------------------------------------------------
    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _log_group(self, key: str, name: pulumi.Input[str]) -> aws.cloudwatch.LogGroup:
        return aws.cloudwatch.LogGroup(f"{self._name}-{key}-logs", name=name, retention_in_days=self._retention,
                                       kms_key_id=self._key, opts=self._opts())

    def _secret(self, key: str, secret_name: str, value: pulumi.Input[str], protect: bool) -> aws.secretsmanager.Secret:
        secret = aws.secretsmanager.Secret(f"{self._name}-{key}", name=secret_name, kms_key_id=self._key,
                                           recovery_window_in_days=30 if protect else 7,
                                           description=f"Talkdesk {key} for the live chat", opts=self._opts())
        aws.secretsmanager.SecretVersion(f"{self._name}-{key}", secret_id=secret.id, secret_string=value,
                                         opts=self._opts())
        return secret

    def _function(self, role_name: str, env: dict[str, pulumi.Input[str]], table_arn: pulumi.Output[str],
                  secret_arns: list[pulumi.Output[str]], connections_arn: pulumi.Output[str],
                  reserved: int | None) -> aws.lambda_.Function:
        spec = FunctionSpec(f"{self._name}-{role_name}", f"{HANDLER_MODULES[role_name]}.handler", handler_code(),
                            # The WebSocket function also runs the flush (retries over ~10 s) and the sweep over every
                            # open chat: 60 s; the others answer a request.
                            timeout=FUNCTION_TIMEOUTS.get(role_name, 10), variables=env,
                            reserved_concurrency=reserved, tracing=True)

        # The function's own ARN from its name (the policy exists before the function does).
        function_arn = pulumi.Output.concat("arn:", self._env.partition, ":lambda:", self._env.region, ":",
                                            self._env.account_id, ":function:", spec.name)

        def policy(logs_arn: pulumi.Output[str]) -> pulumi.Output[str]:
            return pulumi.Output.all(logs_arn, table_arn, pulumi.Output.all(*secret_arns), self._key,
                                     connections_arn, function_arn, self._failures.arn).apply(
                lambda a: function_policy(role_name, ChatArns(a[0], a[1], list(a[2]), a[3], a[4], a[5], a[6])))

        return lambda_function(spec, policy, env=self._env, parent=self).function

    def _permission(self, key: str, fn: aws.lambda_.Function, principal: str, source_arn: pulumi.Input[str]) -> None:
        aws.lambda_.Permission(f"{self._name}-{key}", action="lambda:InvokeFunction", function=fn.name,
                               principal=principal, source_arn=source_arn, opts=self._opts())

    def _websocket(self, api: aws.apigatewayv2.Api, stage_name: str, fns: dict[str, aws.lambda_.Function],
                   args: LiveChatArgs) -> None:
        name = self._name
        authorizer = aws.apigatewayv2.Authorizer(
            f"{name}-connect-authorizer", api_id=api.id, authorizer_type="REQUEST", name="conversation",
            authorizer_uri=fns["authorizer"].invoke_arn,
            identity_sources=["route.request.querystring.conversationId"], opts=self._opts())
        self._permission("authorizer-invoke", fns["authorizer"], "apigateway.amazonaws.com",
                         pulumi.Output.concat(api.execution_arn, "/authorizers/", authorizer.id))
        # Lambda proxy integrations on WebSocket APIs must be invoked with POST (the Lambda Invoke API).
        integration = aws.apigatewayv2.Integration(
            f"{name}-ws-integration", api_id=api.id, integration_type="AWS_PROXY", integration_method="POST",
            integration_uri=fns["websocket"].invoke_arn, opts=self._opts())
        routes = []
        for key, route_key in (("connect", "$connect"), ("disconnect", "$disconnect"), ("message", "onMessage")):
            routes.append(aws.apigatewayv2.Route(
                f"{name}-route-{key}", api_id=api.id, route_key=route_key,
                target=pulumi.Output.concat("integrations/", integration.id),
                authorization_type="CUSTOM" if route_key == "$connect" else "NONE",
                authorizer_id=authorizer.id if route_key == "$connect" else None,
                opts=self._opts()))
            self._permission(f"ws-{key}-invoke", fns["websocket"], "apigateway.amazonaws.com",
                             pulumi.Output.concat(api.execution_arn, f"/{stage_name}/{route_key}"))
        logs = self._log_group("ws-access", pulumi.Output.concat("/aws/apigateway/", api.id, f"/{stage_name}"))
        aws.apigatewayv2.Stage(
            f"{name}-ws-stage", api_id=api.id, name=stage_name, auto_deploy=True,
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(destination_arn=logs.arn,
                                                                            format=ACCESS_LOG_FORMAT),
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=args.websocket_throttling.rate_limit,
                throttling_burst_limit=args.websocket_throttling.burst_limit,
                logging_level="ERROR", data_trace_enabled=False),
            opts=self._opts(depends_on=[*routes, *self._logging_ready]))

    def _keep_alive(self, fn: aws.lambda_.Function) -> None:
        """Every 5 minutes the websocket function pings open connections (API Gateway closes a WebSocket after
        10 idle minutes; a server frame counts as traffic) and ends chats whose customer stayed away."""
        rule = aws.cloudwatch.EventRule(f"{self._name}-keep-alive", schedule_expression="rate(5 minutes)",
                                        description="Live chat: keep customer connections open", opts=self._opts())
        self._permission("keep-alive-invoke", fn, "events.amazonaws.com", rule.arn)
        aws.cloudwatch.EventTarget(f"{self._name}-keep-alive", rule=rule.name, arn=fn.arn, opts=self._opts())

    def _callback_api(self, fn: aws.lambda_.Function, args: LiveChatArgs) -> tuple[pulumi.Output[str],
                                                                                   pulumi.Output[str]]:
        name = self._name
        api = aws.apigateway.RestApi(f"{name}-callback", description="Talkdesk callbacks into the live chat",
                                     endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(
                                         types="REGIONAL"), opts=self._opts())
        resource = aws.apigateway.Resource(f"{name}-callback-resource", rest_api=api.id, parent_id=api.root_resource_id,
                                           path_part="callback", opts=self._opts())
        validation: dict[str, Any] = {}
        if args.validate_callback_requests:
            model = aws.apigateway.Model(f"{name}-callback-body", rest_api=api.id, name="CallbackBody",
                                         content_type="application/json",
                                         schema=json.dumps(callback_model_schema()), opts=self._opts())
            validator = aws.apigateway.RequestValidator(f"{name}-callback-body", rest_api=api.id,
                                                        name="callback-body", validate_request_body=True,
                                                        opts=self._opts())
            validation = {"request_validator_id": validator.id, "request_models": {"application/json": model.name}}
        method = aws.apigateway.Method(f"{name}-callback-post", rest_api=api.id, resource_id=resource.id,
                                       http_method="POST", authorization="NONE", api_key_required=True,
                                       opts=self._opts(), **validation)
        integration = aws.apigateway.Integration(
            f"{name}-callback-integration", rest_api=api.id, resource_id=resource.id, http_method=method.http_method,
            integration_http_method="POST", type="AWS_PROXY", uri=fn.invoke_arn, opts=self._opts())
        self._permission("callback-invoke", fn, "apigateway.amazonaws.com",
                         pulumi.Output.concat(api.execution_arn, "/*/POST/callback"))
        deployment = aws.apigateway.Deployment(
            f"{name}-callback-deployment", rest_api=api.id,
            # A deployment snapshots methods and models: a changed body model needs a new one too.
            triggers={"redeployment": pulumi.Output.all(resource.id, method.id, integration.id).apply(
                lambda ids: "-".join(ids)),
                "bodyModel": hashlib.sha256(json.dumps(callback_model_schema()).encode()).hexdigest()[:16]
                if args.validate_callback_requests else "none"},
            opts=self._opts(depends_on=[integration]))
        logs = self._log_group("callback-access", pulumi.Output.concat("/aws/apigateway/", api.id, "/v1"))
        stage = aws.apigateway.Stage(
            f"{name}-callback-stage", rest_api=api.id, deployment=deployment.id, stage_name="v1",
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(destination_arn=logs.arn,
                                                                          format=ACCESS_LOG_FORMAT.replace(
                                                                              "$context.routeKey",
                                                                              "$context.resourcePath")),
            xray_tracing_enabled=True, opts=self._opts(depends_on=self._logging_ready))
        if args.callback_waf:
            waf_logs = self._log_group("callback-waf", f"{WAF_LOG_PREFIX}{name}-callback")
            callback_web_acl(name, stage.arn, args.callback_waf_rate_limit, waf_logs.arn, self._opts())
        aws.apigateway.MethodSettings(
            f"{name}-callback-settings", rest_api=api.id, stage_name=stage.stage_name, method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                throttling_rate_limit=args.callback_throttling.rate_limit,
                throttling_burst_limit=args.callback_throttling.burst_limit,
                logging_level="ERROR", metrics_enabled=True, data_trace_enabled=False),
            opts=self._opts())
        key = aws.apigateway.ApiKey(f"{name}-talkdesk-key", description="Talkdesk Builder callbacks",
                                    opts=self._opts())
        plan = aws.apigateway.UsagePlan(
            f"{name}-callback-plan",
            api_stages=[aws.apigateway.UsagePlanApiStageArgs(api_id=api.id, stage=stage.stage_name)],
            throttle_settings=aws.apigateway.UsagePlanThrottleSettingsArgs(
                rate_limit=args.callback_throttling.rate_limit, burst_limit=args.callback_throttling.burst_limit),
            opts=self._opts())
        aws.apigateway.UsagePlanKey(f"{name}-callback-plan-key", key_id=key.id, key_type="API_KEY",
                                    usage_plan_id=plan.id, opts=self._opts())
        return pulumi.Output.concat(stage.invoke_url, "/callback"), key.value

    def _lex(self, fn: aws.lambda_.Function, args: LiveChatArgs, account_id: pulumi.Input[str]) -> tuple[Any, Any]:
        name = self._name
        lex = aws_native.lex
        role = aws.iam.Role(f"{name}-lex", assume_role_policy=pulumi.Output.from_input(account_id).apply(
            lambda acct: service_trust("lexv2.amazonaws.com", account_id=acct)), opts=self._opts())
        aws.iam.RolePolicy(f"{name}-lex", role=role.id, policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["polly:SynthesizeSpeech", "comprehend:DetectSentiment"],
             "Resource": "*"}]}), opts=self._opts())
        native = pulumi.ResourceOptions(parent=self)  # the aws-native provider comes from the component
        hook = lex.BotFulfillmentCodeHookSettingArgs(enabled=True)
        definition = bot_definition(args)
        bot = lex.Bot(
            f"{name}-bot",
            name=f"{name}-bot",
            role_arn=role.arn,
            data_privacy=lex.DataPrivacyPropertiesArgs(child_directed=False),
            idle_session_ttl_in_seconds=IDLE_SESSION_TTL_S,
            auto_build_bot_locales=True,
            bot_locales=[lex.BotLocaleArgs(
                locale_id="en_US",
                nlu_confidence_threshold=NLU_THRESHOLD,
                intents=[
                    lex.BotIntentArgs(name="TalkToAgent", description="The customer asks for a person",
                                      sample_utterances=[lex.BotSampleUtteranceArgs(utterance=u)
                                                         for u in args.sample_utterances],
                                      fulfillment_code_hook=hook),
                    lex.BotIntentArgs(name="FallbackIntent", parent_intent_signature="AMAZON.FallbackIntent",
                                      fulfillment_code_hook=hook),
                ],
            )],
            opts=native,
        )
        # A version snapshots DRAFT once; nothing else makes a new one. Its description carries the hash of the
        # bot's definition and replaces the version when it changes, so an edited bot gets a new version and
        # the alias moves to it (create the new version, repoint the alias, then delete the old one).
        version = lex.BotVersion(
            f"{name}-bot-version", bot_id=bot.id, description=f"ml-platform bot definition {definition}",
            bot_version_locale_specification=[lex.BotVersionLocaleSpecificationArgs(
                locale_id="en_US", bot_version_locale_details=lex.BotVersionLocaleDetailsArgs(
                    source_bot_version="DRAFT"))],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[bot], replace_on_changes=["description"]))
        alias = lex.BotAlias(
            f"{name}-bot-alias", bot_id=bot.id, bot_alias_name="live", bot_version=version.bot_version,
            bot_alias_locale_settings=[lex.BotAliasLocaleSettingsItemArgs(
                locale_id="en_US", bot_alias_locale_setting=lex.BotAliasLocaleSettingsArgs(
                    enabled=True, code_hook_specification=lex.BotAliasCodeHookSpecificationArgs(
                        lambda_code_hook=lex.BotAliasLambdaCodeHookArgs(code_hook_interface_version="1.0",
                                                                        lambda_arn=fn.arn))))],
            sentiment_analysis_settings=lex.SentimentAnalysisSettingsPropertiesArgs(detect_sentiment=True),
            opts=native)
        self._permission("lex-invoke", fn, "lexv2.amazonaws.com", alias.arn)
        return bot, alias
