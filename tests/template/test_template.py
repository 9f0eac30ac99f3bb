"""Contract between template.yaml, the code and the linters; the build's artifacts are for Lambda."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from arrowhook.core.settings import (
    AlertsApiSettings,
    ArchiveSettings,
    AuthorizerSettings,
    ConsoleSettings,
    DeliverySettings,
    DestinationsApiSettings,
    FunctionSettings,
    KeysApiSettings,
    LiveSettings,
    PreTrafficSettings,
    SenderSettings,
    WebhookSettings,
)
from arrowhook_tools.local.runtime import import_handler
from arrowhook_tools.local.template import PROJECT_ROOT, LocalTemplate, load_template

pytestmark = pytest.mark.template
ELF_MACHINE_AARCH64 = 183
CODE_DIRS = (PROJECT_ROOT / "layers", PROJECT_ROOT / "functions")
ENV_READ = re.compile(r"""os\.(?:environ\.get|getenv|environ\[)\(?\s*["']([A-Z0-9_]+)["']""")
#: Read by Powertools itself when our Logger/Metrics are built; the code relies on them being set.
BUILD_COMMIT = "0123456789ab-test"
POWERTOOLS_VARIABLES = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}


def sam_binary() -> str:
    candidate = os.environ.get("SAM_BIN") or str(PROJECT_ROOT / ".venv-sam/bin/sam")
    if not Path(candidate).exists():
        pytest.skip("aws-sam-cli not installed: run `make template` (make test installs it)")
    return candidate


def sam_environment() -> dict[str, str]:
    return {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return load_template()


def test_cfn_lint_is_clean() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "template.yaml"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_sam_validate_lint() -> None:
    result = subprocess.run(
        [sam_binary(), "validate", "--lint"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env=sam_environment(),
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build_dir = tmp_path_factory.mktemp("sam-build")
    result = subprocess.run(
        [sam_binary(), "build", "--build-dir", str(build_dir), "--no-cached"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**sam_environment(), "ARROWHOOK_COMMIT": BUILD_COMMIT},
        check=False,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return build_dir


def test_sam_build_layer_is_python313_arm64(built: Path) -> None:
    site = built / "ArrowhookLayer" / "python"
    assert (site / "arrowhook" / "ingest" / "service.py").is_file()
    assert (site / "aws_lambda_powertools").is_dir() and (site / "pydantic_core").is_dir()
    extensions = list(site.rglob("*.so"))
    assert extensions, "pydantic_core at least ships a compiled extension"
    for extension in extensions:
        header = extension.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", extension
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE_AARCH64, f"{extension} is not aarch64"
        tag = re.search(r"\.cpython-(\d+)-", extension.name)
        assert tag is None or tag.group(1) == "313", f"{extension} is not built for CPython 3.13"
        assert "x86_64" not in extension.name
    assert not list(site.rglob("arrowhook_tools")), "developer tools never ship to Lambda"


def test_sam_build_stamps_the_commit_for_get_version(built: Path) -> None:
    stamped = json.loads((built / "ArrowhookLayer/python/arrowhook/build_info.json").read_text())
    assert stamped["commit"] == BUILD_COMMIT
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamped["built_at"])


def test_sam_build_functions_ship_only_their_handlers(built: Path, raw: dict[str, Any]) -> None:
    for logical_id, resource in raw["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            shipped = sorted(str(path.relative_to(built / logical_id)) for path in (built / logical_id).rglob("*"))
            # With Python 3.13 on the machine (the venv is then 3.13 too) the handler ships with its bytecode.
            with_bytecode = (
                ["__pycache__", "__pycache__/app.cpython-313.pyc"] if sys.version_info[:2] == (3, 13) else []
            )
            if logical_id == "ConsoleFunction":  # its pages and assets ship with it, never in the layer
                pages = {path for path in shipped if path.startswith(("templates/", "static/"))}
                assert {"templates/base.html", "static/console.js", "static/vendor/htmx.min.js"} <= pages
                shipped = [path for path in shipped if path not in pages and path not in ("templates", "static")]
                shipped = [path for path in shipped if path != "static/vendor"]
                pages_code = {path for path in shipped if path.startswith("console_pages")}
                assert {"console_pages/__init__.py", "console_pages/wiring.py"} <= pages_code
                if with_bytecode:  # each page module with its bytecode, as the handler
                    modules = {path for path in pages_code if path.endswith(".py")}
                    stems = {module.removeprefix("console_pages/").removesuffix(".py") for module in modules}
                    compiled = {f"console_pages/__pycache__/{stem}.cpython-313.pyc" for stem in stems}
                    assert compiled <= pages_code, sorted(compiled - pages_code)
                shipped = [path for path in shipped if path not in pages_code]
            assert shipped == [*with_bytecode, "app.py"], (logical_id, shipped)


CLIENT_CREATED = re.compile(r"""\bclient\(\s*["']([a-z0-9-]+)["']""")
#: Clients Powertools creates for the utilities the layer uses.
POWERTOOLS_CLIENTS = {"parameters.get_secret": "secretsmanager", "parameters.get_parameter": "ssm"}


def test_the_layer_keeps_the_botocore_data_of_every_client_the_code_creates(built: Path) -> None:
    makefile = (PROJECT_ROOT / "layers/arrowhook/Makefile").read_text()
    declared = re.search(r"^BOTOCORE_SERVICES \?= (.+)$", makefile, re.MULTILINE)
    assert declared is not None
    kept = set(declared.group(1).split())
    created: set[str] = set()
    for source in [
        *(PROJECT_ROOT / "layers/arrowhook/arrowhook").rglob("*.py"),
        *(PROJECT_ROOT / "functions").rglob("*.py"),
    ]:
        text = source.read_text()
        created.update(CLIENT_CREATED.findall(text))
        created.update(service for call, service in POWERTOOLS_CLIENTS.items() if call in text)
    assert {"dynamodb", "s3", "ssm"} <= created, "the scan finds the clients it should"
    assert created <= kept, f"clients without their botocore data in the layer: {sorted(created - kept)}"
    data = built / "ArrowhookLayer/python/botocore/data"
    assert {path.name for path in data.iterdir() if path.is_dir()} == kept
    endpoints = json.loads((data / "endpoints.json").read_text())
    for partition in endpoints["partitions"]:
        assert set(partition["services"]) <= kept
    assert "dynamodb" in endpoints["partitions"][0]["services"]


def _pyc_header(pyc: Path) -> tuple[bytes, int]:
    header = pyc.read_bytes()[:8]
    return header[:4], int.from_bytes(header[4:8], "little")


#: PEP 552 flags: bit 0 hash-based, bit 1 check the source. Unchecked hash: 0b01.
UNCHECKED_HASH = 0b01


def test_every_artifact_ships_unchecked_bytecode_for_the_runtime(built: Path, raw: dict[str, Any]) -> None:
    """Lambda's file system is read-only: a module without usable bytecode is compiled from source on
    every cold start (2x the import). Timestamp-based .pyc never validate in SAM's zips (1980 dates)."""
    if sys.version_info[:2] != (3, 13):
        pytest.skip("the runtime's magic number is only known to a Python 3.13 interpreter")
    artifacts = [built / "ArrowhookLayer" / "python"] + [
        built / logical_id
        for logical_id, resource in raw["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    ]
    checked = 0
    for artifact in artifacts:
        for source in artifact.rglob("*.py"):
            pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
            assert pyc.is_file(), f"{source.relative_to(built)} ships without its bytecode"
            magic, flags = _pyc_header(pyc)
            assert magic == importlib.util.MAGIC_NUMBER, f"{pyc} is not for Python 3.13"
            assert flags == UNCHECKED_HASH, f"{pyc} is not an unchecked hash-based .pyc"
            checked += 1
    assert checked > 500, "the whole layer (boto3, pydantic, Powertools...) is compiled, not just our code"


def test_the_webhook_memory_is_a_parameter_defaulting_to_256(raw: dict[str, Any]) -> None:
    webhook = raw["Resources"]["WebhookFunction"]["Properties"]
    assert webhook["MemorySize"] == {"Ref": "WebhookMemorySize"}
    parameter = raw["Parameters"]["WebhookMemorySize"]
    assert parameter["Default"] == 256 and 1769 in parameter["AllowedValues"]
    assert (
        LocalTemplate(parameter_overrides={"WebhookMemorySize": "512"}).function_spec("WebhookFunction").memory_mb
        == 512
    )


def test_snapstart_is_an_opt_in_with_its_fixed_cost_stated(raw: dict[str, Any]) -> None:
    """SnapStart caches a snapshot per published version, billed whether or not an alert arrives: it
    would break the idle-cost promise, so it is off unless the operator asks."""
    webhook = raw["Resources"]["WebhookFunction"]["Properties"]
    assert webhook["AutoPublishAlias"] == "live"
    assert webhook["SnapStart"] == {
        "Fn::If": ["WebhookSnapStartOn", {"ApplyOn": "PublishedVersions"}, {"Ref": "AWS::NoValue"}]
    }
    parameter = raw["Parameters"]["WebhookSnapStart"]
    assert parameter["Default"] == "false" and "a month per published version" in parameter["Description"]
    assert LocalTemplate().condition("WebhookSnapStartOn") is False
    assert LocalTemplate(parameter_overrides={"WebhookSnapStart": "true"}).condition("WebhookSnapStartOn") is True


def test_runtime_and_architecture(raw: dict[str, Any]) -> None:
    function_globals = raw["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == [{"Ref": "Architecture"}]
    assert raw["Parameters"]["Architecture"]["Default"] == "arm64"  # x86_64 only for sam local (below)
    layer = raw["Resources"]["ArrowhookLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}]
    makefile = (PROJECT_ROOT / "layers/arrowhook/Makefile").read_text()
    for flag in ("--platform $(LAMBDA_PLATFORM)", "--python-version $(LAMBDA_PYTHON_VERSION)", "--only-binary=:all:"):
        assert flag in makefile
    assert "LAMBDA_PLATFORM ?= manylinux2014_aarch64" in makefile
    assert "LAMBDA_PYTHON_VERSION ?= 3.13" in makefile


def test_every_handler_imports_and_is_callable(
    aws: Any, template: LocalTemplate, monkeypatch: pytest.MonkeyPatch
) -> None:
    for spec in template.functions():
        for name, value in spec.environment.items():
            monkeypatch.setenv(name, value)
        module = import_handler(spec, "handler_check")  # as Lambda: the handler's folder on the path
        assert callable(getattr(module, spec.attribute)), spec.handler


def _variables_read_by_code() -> set[str]:
    found: set[str] = set()
    for directory in CODE_DIRS:
        for path in directory.rglob("*.py"):
            found.update(ENV_READ.findall(path.read_text(encoding="utf-8")))
    return found


#: The settings model each function reads at init.
FUNCTION_SETTINGS: dict[str, type[FunctionSettings]] = {
    "WebhookFunction": WebhookSettings,
    "AuthorizerFunction": AuthorizerSettings,
    "KeysFunction": KeysApiSettings,
    "AlertsFunction": AlertsApiSettings,
    "ArchiveFunction": ArchiveSettings,
    "DeliveryFunction": DeliverySettings,
    "SenderFunction": SenderSettings,
    "DestinationsFunction": DestinationsApiSettings,
    "ConsoleFunction": ConsoleSettings,
    "LiveFunction": LiveSettings,
    "SecureParameterFunction": FunctionSettings,
    "PreTrafficCheckFunction": PreTrafficSettings,
}


def test_each_function_gets_exactly_the_variables_its_settings_read(template: LocalTemplate) -> None:
    """A missing variable fails a function at init, not mid-request; an extra one is a setting no code reads."""
    read_directly = _variables_read_by_code()
    assert "POWERTOOLS_TRACE_DISABLED" in read_directly, "the scan finds what the code reads"
    assert set(FUNCTION_SETTINGS) == {spec.logical_id for spec in template.functions()}
    for spec in template.functions():
        model = FUNCTION_SETTINGS[spec.logical_id]
        aliases = {str(field.alias) for field in model.model_fields.values()}
        required = {str(field.alias) for field in model.model_fields.values() if field.is_required()}
        configured = set(spec.environment)
        assert POWERTOOLS_VARIABLES | required <= configured, f"{spec.logical_id} lacks {sorted(required - configured)}"
        unread = configured - aliases - POWERTOOLS_VARIABLES - read_directly
        assert not unread, f"{spec.logical_id} is given {sorted(unread)}, which it never reads"
        assert model.model_validate(spec.environment), spec.logical_id
        for name in required:
            without = {key: value for key, value in spec.environment.items() if key != name}
            with pytest.raises(ValidationError):
                model.model_validate(without)


def test_routes_and_their_authorization(template: LocalTemplate) -> None:
    routes = {route.route_key: (route.function_id, route.authorizer) for route in template.routes()}
    public = {"POST /webhook", "POST /webhook/{token}", "GET /health", "GET /version"}
    #: The console authenticates its own session cookie (tests/integration/console/).
    console = {"GET /console", "ANY /console/{proxy+}"}
    assert {key for key, (_, authorizer) in routes.items() if authorizer is None} == public | console
    assert all(routes[key][0] == "WebhookFunction" for key in public)
    assert all(routes[key][0] == "ConsoleFunction" for key in console)
    assert routes["GET /strategies/{strategy}/positions"] == ("AlertsFunction", "AdminAuthorizer")
    keys = {
        "POST /keys",
        "GET /keys",
        "GET /keys/{key_id}",
        "PATCH /keys/{key_id}",
        "DELETE /keys/{key_id}",
        "POST /keys/{key_id}/rotate",
        "POST /keys/{key_id}/verify",
    }
    admin = {key for key in routes if key.split(" ")[1].startswith("/keys")}
    assert admin == keys
    # The concept's one name, the same routes; a path variable at one place has one name, as API Gateway
    # requires ({strategy}, as /strategies/{strategy}/positions has it).
    strategies = {key.replace("/keys", "/strategies").replace("{key_id}", "{strategy}") for key in keys}
    assert {key for key in routes if key in strategies} == strategies
    admin |= strategies
    assert {routes[key] for key in admin} == {("KeysFunction", "AdminAuthorizer")}
    alerts = {key: value for key, value in routes.items() if key.split(" ")[1].startswith("/alerts")}
    assert set(alerts) == {"GET /alerts", "GET /alerts/stats", "GET /alerts/{alert_id}"}
    assert set(alerts.values()) == {("AlertsFunction", "AdminAuthorizer")}


def test_admin_authorizer_configuration(raw: dict[str, Any], template: LocalTemplate) -> None:
    auth = raw["Resources"]["HttpApi"]["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == "AdminAuthorizer", "new routes are admin-only unless they opt out"
    config = auth["Authorizers"]["AdminAuthorizer"]
    assert config["EnableSimpleResponses"] is True
    assert config["AuthorizerPayloadFormatVersion"] == "2.0"
    assert config["Identity"] == {"Headers": ["Authorization"], "ReauthorizeEvery": {"Ref": "AuthorizerCacheSeconds"}}
    assert raw["Parameters"]["AuthorizerCacheSeconds"]["Default"] == 30, "a rotated admin token ends within a minute"
    token = raw["Resources"]["AdminTokenParameter"]
    assert token["Type"] == "Custom::SecureParameter" and int(token["Properties"]["EntropyBytes"]) >= 32
    spec = template.authorizers()["AdminAuthorizer"]
    assert (spec.function_id, spec.identity_headers, spec.ttl_seconds) == (
        "AuthorizerFunction",
        ("authorization",),
        30,
    )


def _statements(raw: dict[str, Any], function: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = raw["Resources"][function]["Properties"]["Policies"][0]["Statement"]
    return statements


#: The only wildcards a function may hold: objects under a named prefix of the template's own bucket, and
#: the SSM parameters under a named folder of the stack's own /arrowhook/<stack>/ path.
BUCKET_PREFIX_RESOURCE = re.compile(
    r"^\$\{[A-Za-z]+Bucket\.Arn\}/[a-z-]+/\*$"
    r"|^arn:\$\{AWS::Partition\}:ssm:\$\{AWS::Region\}:\$\{AWS::AccountId\}:parameter/arrowhook/\$\{AWS::StackName\}/[a-z-]+/\*$"
    # A connection's id is known only when it connects: POST to any connection of this API's stage.
    r"|^arn:\$\{AWS::Partition\}:execute-api:\$\{AWS::Region\}:\$\{AWS::AccountId\}:\$\{LiveApi\}/live/POST/@connections/\*$"
)


#: Reads AWS grants only on `*` (no resource type exists for them), each by the one function that needs it.
READS_WITHOUT_RESOURCES = {("ConsoleFunction", "cloudwatch:GetMetricData")}


def test_no_function_policy_grants_a_wildcard(raw: dict[str, Any]) -> None:
    for logical_id, resource in raw["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for statement in _statements(raw, logical_id):
            if statement["Resource"] == "*":
                assert (logical_id, statement["Action"]) in READS_WITHOUT_RESOURCES, (logical_id, statement)
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in action for action in actions), logical_id
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for granted in resources:
                if isinstance(granted, dict) and "Fn::Sub" in granted and "*" in granted["Fn::Sub"]:
                    assert BUCKET_PREFIX_RESOURCE.match(granted["Fn::Sub"]), (logical_id, granted)
                else:
                    assert "*" not in json.dumps(granted), logical_id


def test_admin_policies_are_least_privilege(raw: dict[str, Any]) -> None:
    [read_token] = _statements(raw, "AuthorizerFunction")
    assert (read_token["Action"], read_token["Resource"]) == ("ssm:GetParameter", _parameter_arn("AdminTokenParameter"))
    alerts = {statement["Sid"]: statement for statement in _statements(raw, "AlertsFunction")}
    assert {
        action
        for statement in alerts.values()
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    } == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "ssm:GetParameter",
    }, "the alerts API is read-only"
    assert alerts["ReadDailyCounts"]["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["COUNTS#*"]}
    }, "batch reads reach the daily counts"
    assert alerts["ReadAlerts"]["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ALERT#*"]}}, (
        "and the alerts a page lists, never a dedupe marker or the archive's state"
    )
    for function in ("AlertsFunction", "KeysFunction"):
        [read_key] = [statement for statement in _statements(raw, function) if statement["Sid"] == "ReadCursorKey"]
        assert read_key["Resource"] == _parameter_arn("CursorKeyParameter"), function
    keys = {statement["Sid"]: statement for statement in _statements(raw, "KeysFunction")}
    assert keys["ManageKeys"]["Resource"] == {"Fn::GetAtt": ["KeysTable", "Arn"]}
    assert "dynamodb:Scan" not in keys["ManageKeys"]["Action"]
    assert keys["ListKeysByName"] == {
        "Sid": "ListKeysByName",
        "Effect": "Allow",
        "Action": "dynamodb:Query",
        "Resource": {"Fn::Sub": "${KeysTable.Arn}/index/KeysByName"},
    }


def _parameter_arn(logical_id: str) -> dict[str, str]:
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter${{{logical_id}}}"}


def test_the_stacks_secrets_are_secure_strings_its_deploy_time_function_alone_manages(
    raw: dict[str, Any], template: LocalTemplate
) -> None:
    """No Secrets Manager secret ($0.40 a month each): SSM SecureStrings, made by a custom resource whose
    function may write exactly the parameters the stack declares, and no other."""
    assert not [
        name for name, resource in raw["Resources"].items() if resource["Type"].startswith("AWS::SecretsManager")
    ]
    declared = {
        template.resolve(resource["Properties"]["Name"])
        for _, resource in template.resources_of_type("Custom::SecureParameter")
    }
    assert declared == {
        "/arrowhook/arrowhook-local/admin-token",
        "/arrowhook/arrowhook-local/cursor-key",
        "/arrowhook/arrowhook-local/console-session-key",
    }
    [manage] = _statements(raw, "SecureParameterFunction")
    assert manage["Action"] == ["ssm:PutParameter", "ssm:DeleteParameter"]
    reachable = {template.resolve(arn).split(":parameter", 1)[1] for arn in manage["Resource"]}
    assert reachable == declared
    for logical_id, resource in template.resources_of_type("Custom::SecureParameter"):
        assert resource["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["SecureParameterFunction", "Arn"]}
        assert resource["DependsOn"] == "SecureParameterLogGroup", f"{logical_id}: its log group must exist first"
    assert raw["Outputs"]["AdminTokenParameterName"]["Value"] == {"Ref": "AdminTokenParameter"}


def test_access_logs_never_record_the_path(raw: dict[str, Any]) -> None:
    log_format = raw["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
    assert "$context.routeKey" in log_format
    assert "$context.path" not in log_format and "rawPath" not in log_format


def test_tables_are_on_demand_recoverable_and_protectable(raw: dict[str, Any]) -> None:
    for logical_id in ("KeysTable", "AlertsTable"):
        table = raw["Resources"][logical_id]
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["DeletionProtectionEnabled"] == {"Fn::If": ["DeletionProtectionOn", True, False]}
        assert table["DeletionPolicy"] == "Retain"
    assert raw["Conditions"]["DeletionProtectionOn"] == {"Fn::Equals": [{"Ref": "DeletionProtection"}, "true"]}


def test_webhook_policy_is_least_privilege(raw: dict[str, Any]) -> None:
    statements = raw["Resources"]["WebhookFunction"]["Properties"]["Policies"][0]["Statement"]
    grants = {
        (
            statement["Action"],
            statement["Resource"]["Fn::GetAtt"][0],
            tuple(statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys", ())),
        )
        for statement in statements
    }
    assert grants == {
        ("dynamodb:GetItem", "KeysTable", ("SECRET#*",)),  # what a secret authenticates as
        ("dynamodb:PutItem", "AlertsTable", ("ALERT#*", "DEDUPE#*")),  # the marker, then the alert
        # was an unanswered write applied? did the archive take a marked alert (its state, read only)?
        ("dynamodb:GetItem", "AlertsTable", ("ALERT#*", "DEDUPE#*", "ARCHIVE#state")),
        ("dynamodb:UpdateItem", "AlertsTable", ("ALERT#*",)),  # a repeated delivery listed on its alert
    }


_ITEM_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
}


def test_every_item_grant_on_the_shared_tables_names_the_item_types_it_may_touch(template: LocalTemplate) -> None:
    """The keys and alerts tables hold several item types each (KEY#, SECRET#, SESSION#...; ALERT#,
    DEDUPE#, COUNTS#, ARCHIVE#state): a function may read or write only the ones it manages."""
    unconditioned = []
    for function_id, resource in template.resources_of_type("AWS::Serverless::Function"):
        for policy in resource["Properties"].get("Policies", []):
            for statement in (policy or {}).get("Statement", []) if isinstance(policy, dict) else []:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                resource_ref = statement.get("Resource")
                table = resource_ref.get("Fn::GetAtt", [None])[0] if isinstance(resource_ref, dict) else None
                conditions = statement.get("Condition", {})
                leading = any(
                    conditions.get(operator, {}).get("dynamodb:LeadingKeys")
                    for operator in ("ForAllValues:StringLike", "ForAllValues:StringEquals")
                )
                if table in ("KeysTable", "AlertsTable") and set(actions) & _ITEM_ACTIONS and not leading:
                    unconditioned.append((function_id, statement.get("Sid")))
    assert unconditioned == []


@pytest.mark.parametrize(
    ("parameter", "variable"),
    [
        ("DedupeWindowSeconds", "DEDUPE_WINDOW_SECONDS"),
        ("MaxBodyBytes", "MAX_BODY_BYTES"),
        ("KeyCacheTtlSeconds", "KEY_CACHE_TTL_SECONDS"),
        ("AllowedSourceIps", "ALLOWED_SOURCE_IPS"),
        ("WebhookStoreTimeoutSeconds", "STORE_TIMEOUT_SECONDS"),
    ],
)
def test_webhook_settings_are_parameters(raw: dict[str, Any], parameter: str, variable: str) -> None:
    assert parameter in raw["Parameters"]
    environment = raw["Resources"]["WebhookFunction"]["Properties"]["Environment"]["Variables"]
    assert environment[variable] == {"Ref": parameter}
    default = str(raw["Parameters"][parameter]["Default"])
    assert LocalTemplate().function_spec("WebhookFunction").environment[variable] == default


def test_outputs_give_the_webhook_url(raw: dict[str, Any]) -> None:
    assert raw["Outputs"]["WebhookUrl"]["Value"]["Fn::Sub"].endswith("/webhook")


def test_local_sam_cli_is_not_in_the_project_environment() -> None:
    """aws-sam-cli pins an older pydantic: it must live in its own virtual environment."""
    assert shutil.which("sam", path=str(Path(sys.executable).parent)) is None


def test_archive_policy_reaches_only_old_alerts_its_state_and_its_prefix(raw: dict[str, Any]) -> None:
    grants = {statement["Sid"]: statement for statement in _statements(raw, "ArchiveFunction")}
    assert grants["FindOldAlerts"]["Resource"] == [
        {"Fn::Sub": "${AlertsTable.Arn}/index/AlertsByDay"},
        {"Fn::Sub": "${AlertsTable.Arn}/index/ByDay"},  # the old one, read only during an index upgrade
    ]
    deletes = grants["DeleteArchivedAlerts"]
    assert deletes["Action"] == "dynamodb:BatchWriteItem"
    assert deletes["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ALERT#*"]}}
    state = grants["ArchiveStateAndLease"]
    assert state["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["ARCHIVE#state"]}}
    assert grants["WriteAndVerifyArchive"]["Resource"] == {"Fn::Sub": "${ArchiveBucket.Arn}/alerts/*"}
    counts = grants.pop("CountClosedDays")
    assert (counts["Action"], counts["Condition"]) == (
        ["dynamodb:GetItem", "dynamodb:PutItem"],
        {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["COUNTS#*"]}},
    ), "it writes its daily counts, and no alert"
    restores = grants.pop("RestoreArchivedAlerts")
    assert (restores["Action"], restores["Condition"]) == (
        "dynamodb:PutItem",
        {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ALERT#*"]}},
    ), "archived days come back as alerts (put only where none is: arrowhook.archive.restore)"
    listing = grants.pop("ListArchivedDays")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["alerts/*"]}}
    every_action = {action for statement in grants.values() for action in _as_list(statement["Action"])}
    assert not every_action & {"dynamodb:DeleteItem", "dynamodb:PutItem", "s3:DeleteObject", "s3:DeleteObjectVersion"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_archive_schedule_and_retention_are_parameters(raw: dict[str, Any], template: LocalTemplate) -> None:
    function = raw["Resources"]["ArchiveFunction"]["Properties"]
    schedule = function["Events"]["Daily"]
    assert schedule["Type"] == "ScheduleV2"
    assert schedule["Properties"]["ScheduleExpression"] == {"Ref": "ArchiveSchedule"}
    assert schedule["Properties"]["ScheduleExpressionTimezone"] == {"Ref": "ArchiveScheduleTimezone"}
    assert json.loads(schedule["Properties"]["Input"])["trigger"] == "schedule"
    parameters = raw["Parameters"]
    assert (parameters["ArchiveSchedule"]["Default"], parameters["ArchiveScheduleTimezone"]["Default"]) == (
        "cron(0 3 * * ? *)",
        "UTC",
    )
    assert parameters["ArchiveRetentionDays"]["Default"] == 90
    assert function["Environment"]["Variables"]["ARCHIVE_RETENTION_DAYS"] == {"Ref": "ArchiveRetentionDays"}
    assert function["Timeout"] == 900
    spec = template.function_spec("ArchiveFunction")
    assert spec.environment["ARCHIVE_BUCKET_NAME"] == template.physical_name("ArchiveBucket")
    assert spec.timeout_seconds == 900


def test_archive_bucket_is_private_encrypted_versioned_tls_only_and_tiered(raw: dict[str, Any]) -> None:
    bucket = raw["Resources"]["ArchiveBucket"]
    properties = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    [encryption] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {rule["Id"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}
    assert rules["ColderStorage"]["Transitions"] == [
        {"StorageClass": {"Ref": "ArchiveStorageClass"}, "TransitionInDays": {"Ref": "ArchiveTransitionDays"}}
    ]
    assert rules["ColderStorage"]["Prefix"] == "alerts/"
    [tls] = raw["Resources"]["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (tls["Effect"], tls["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})


def test_glue_table_projects_the_hive_partitions_the_archiver_writes(raw: dict[str, Any]) -> None:
    from arrowhook.archive.record import ArchivedAlertV1

    table = raw["Resources"]["ArchiveTable"]["Properties"]["TableInput"]
    parameters = table["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert [key["Name"] for key in table["PartitionKeys"]] == ["year", "month", "day"]
    assert parameters["storage.location.template"] == {
        "Fn::Sub": "s3://${ArchiveBucket}/alerts/year=${!year}/month=${!month}/day=${!day}/"
    }
    assert (parameters["projection.month.digits"], parameters["projection.day.digits"]) == ("2", "2")
    columns = [column["Name"] for column in table["StorageDescriptor"]["Columns"]]
    assert sorted(columns) == sorted(ArchivedAlertV1.model_fields), "one column per archived field"


def test_archive_failures_alarm_to_the_topic(raw: dict[str, Any]) -> None:
    alarm = raw["Resources"]["ArchiveFailureAlarm"]["Properties"]
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    metrics = {metric["Id"]: metric for metric in alarm["Metrics"]}
    assert metrics["errors"]["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "ArchiveFunction"}}
    ]
    assert metrics["reported"]["MetricStat"]["Metric"]["MetricName"] == "ArchiveErrors"
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


FUNCTIONS = ("WebhookFunction", "KeysFunction", "AlertsFunction", "AuthorizerFunction", "ArchiveFunction")


def test_every_function_has_a_log_group_with_the_retention_parameter(raw: dict[str, Any]) -> None:
    resources = raw["Resources"]
    named = {
        resource["Properties"]["LogGroupName"]["Fn::Sub"]: resource
        for resource in resources.values()
        if resource["Type"] == "AWS::Logs::LogGroup" and "LogGroupName" in resource["Properties"]
    }
    for function in FUNCTIONS:
        group = named[f"/aws/lambda/${{{function}}}"]
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, function
    access = resources["ApiAccessLogGroup"]["Properties"]
    assert access["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert raw["Parameters"]["LogRetentionDays"]["Default"] == 30


def test_access_log_is_json_with_the_fields_operators_need(raw: dict[str, Any]) -> None:
    settings = raw["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(settings["Format"])
    assert {
        "requestId": "$context.requestId",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "sourceIp": "$context.identity.sourceIp",
    }.items() <= fields.items()
    assert not any("path" in value.lower() for value in fields.values()), "a path can hold a webhook token"


def test_throttling_defaults_and_a_separate_webhook_limit_are_parameters(raw: dict[str, Any]) -> None:
    api = raw["Resources"]["HttpApi"]["Properties"]
    assert api["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
    }
    webhook_limit = {
        "ThrottlingRateLimit": {"Ref": "WebhookRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "WebhookBurstLimit"},
    }
    assert api["RouteSettings"] == {"POST /webhook": webhook_limit, "POST /webhook/{token}": webhook_limit}
    defaults = {
        name: raw["Parameters"][name]["Default"]
        for name in ("ApiRateLimit", "ApiBurstLimit", "WebhookRateLimit", "WebhookBurstLimit")
    }
    assert defaults == {"ApiRateLimit": 10, "ApiBurstLimit": 20, "WebhookRateLimit": 1000, "WebhookBurstLimit": 2000}


def test_cors_is_off_unless_origins_are_given(raw: dict[str, Any]) -> None:
    cors = raw["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]
    condition, enabled, disabled = cors["Fn::If"]
    assert condition == "AdminCorsOn" and disabled == {"Ref": "AWS::NoValue"}
    assert enabled["AllowOrigins"] == {"Fn::Split": [",", {"Ref": "AdminCorsOrigins"}]}
    assert raw["Parameters"]["AdminCorsOrigins"]["Default"] == ""


def test_custom_domain_is_optional(raw: dict[str, Any]) -> None:
    resources = raw["Resources"]
    assert resources["CustomDomain"]["Condition"] == resources["CustomDomainMapping"]["Condition"] == "CustomDomainOn"
    [configuration] = resources["CustomDomain"]["Properties"]["DomainNameConfigurations"]
    assert configuration["CertificateArn"] == {"Ref": "CertificateArn"}
    assert resources["CustomDomainMapping"]["Properties"]["ApiId"] == {"Ref": "HttpApi"}
    assert raw["Conditions"]["CustomDomainOn"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CustomDomainName"}, ""]}]}


def _alarm_metrics(alarm: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(namespace, metric, dimension value) of every metric an alarm reads."""
    properties = alarm["Properties"]
    if "MetricName" in properties:
        [dimension] = properties["Dimensions"]
        return {(properties["Namespace"], properties["MetricName"], json.dumps(dimension["Value"]))}
    found = set()
    for query in properties["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            [dimension] = metric["Dimensions"]
            found.add((metric["Namespace"], metric["MetricName"], json.dumps(dimension["Value"])))
    return found


def _ref(name: str) -> str:
    return json.dumps({"Ref": name})


def test_alarms_cover_what_an_operator_needs_and_notify_the_topic(raw: dict[str, Any]) -> None:
    alarms = {
        name: resource for name, resource in raw["Resources"].items() if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    errors = _alarm_metrics(alarms["FunctionErrorsAlarm"])
    assert {("AWS/Lambda", "Errors", _ref(f)) for f in ("WebhookFunction", "KeysFunction", "AlertsFunction")} <= errors
    throttles = _alarm_metrics(alarms["FunctionThrottlesAlarm"])
    assert {("AWS/Lambda", "Throttles", _ref(function)) for function in FUNCTIONS} == throttles
    api = alarms["Api5xxRateAlarm"]["Properties"]
    assert _alarm_metrics(alarms["Api5xxRateAlarm"]) == {
        ("AWS/ApiGateway", "5xx", _ref("HttpApi")),
        ("AWS/ApiGateway", "Count", _ref("HttpApi")),
    }
    assert (api["Threshold"], api["ComparisonOperator"]) == (1, "GreaterThanThreshold")
    assert "100 * " in next(query["Expression"] for query in api["Metrics"] if query.get("ReturnData"))
    latency = alarms["WebhookLatencyAlarm"]["Properties"]
    assert (latency["ExtendedStatistic"], latency["Threshold"]) == ("p99", 1000)
    assert _alarm_metrics(alarms["WebhookLatencyAlarm"]) == {("AWS/Lambda", "Duration", _ref("WebhookFunction"))}
    dynamodb = _alarm_metrics(alarms["DynamoDbThrottlesAlarm"])
    assert {table for _, _, table in dynamodb} == {_ref("AlertsTable"), _ref("KeysTable")}
    assert {metric for _, metric, _ in dynamodb} == {"ReadThrottleEvents", "WriteThrottleEvents"}
    assert ("Arrowhook", "AuthorizerErrors", json.dumps("arrowhook")) in _alarm_metrics(alarms["AuthorizerErrorsAlarm"])
    assert ("AWS/Lambda", "Errors", _ref("ArchiveFunction")) in _alarm_metrics(alarms["ArchiveFailureAlarm"])
    live = alarms["LiveFanOutAlarm"]["Properties"]
    assert (live["Namespace"], live["MetricName"], live["Threshold"]) == ("Arrowhook", "LiveFanOutErrors", 1)


FULL_MONITORING = {
    "Api5xxRateAlarm",
    "ArchiveFailureAlarm",
    "DeliveryFailureAlarm",
    "FunctionErrorsAlarm",
    "FunctionThrottlesAlarm",
    "WebhookLatencyAlarm",
    "DynamoDbThrottlesAlarm",
    "AuthorizerErrorsAlarm",
    "RefusedCredentialsSurgeAlarm",
    "LiveFanOutAlarm",
    "Dashboard",
}


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("essential", {"Api5xxRateAlarm", "ArchiveFailureAlarm", "DeliveryFailureAlarm"}),
        ("full", FULL_MONITORING),
        ("off", set()),
    ],
)
def test_the_monitoring_level_decides_which_alarms_and_dashboard_exist(level: str, expected: set[str]) -> None:
    """essential keeps what says alerts are being lost (webhook 5xx, deliveries given up on) or piling up
    (archive failures)."""
    template = LocalTemplate(parameter_overrides={"Monitoring": level})
    present = {
        name
        for name, resource in template.resources.items()
        if resource["Type"] in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard")
        and ("Condition" not in resource or template.condition(resource["Condition"]))
    }
    assert present == expected


def test_idle_cost_with_the_default_parameters_meets_the_target_and_the_description_says_what_each_level_costs(
    raw: dict[str, Any],
) -> None:
    """The fixed monthly cost is computed from the template (arrowhook_tools.generators.costs), so the parameter's
    description and the README cannot drift from what a deploy creates."""
    from arrowhook_tools.generators.costs import IDLE_TARGET_MONTHLY, fixed_monthly_costs, idle_monthly

    assert raw["Parameters"]["Monitoring"]["Default"] == "essential"
    assert idle_monthly() <= IDLE_TARGET_MONTHLY
    description = " ".join(raw["Parameters"]["Monitoring"]["Description"].split())
    for level in ("essential", "full"):
        metrics = next(
            cost.count for cost in fixed_monthly_costs({"Monitoring": level}) if cost.item == "alarm metrics"
        )
        assert f"{metrics} " in description and f"${idle_monthly({'Monitoring': level}):.2f} a month" in description
    assert idle_monthly({"Monitoring": "off"}) == 0
    assert idle_monthly({"Monitoring": "off", "NoAlertsAlarmHours": "6"}) == 0.10, "an explicit opt-in, priced"


def test_the_no_alerts_alarm_is_off_by_default_and_sized_by_its_parameter(raw: dict[str, Any]) -> None:
    alarm = raw["Resources"]["NoAlertsAlarm"]
    assert alarm["Condition"] == "NoAlertsAlarmOn"
    assert raw["Parameters"]["NoAlertsAlarmHours"]["Default"] == 0
    properties = alarm["Properties"]
    assert (properties["MetricName"], properties["Period"], properties["EvaluationPeriods"]) == (
        "AlertsStored",
        3600,
        {"Ref": "NoAlertsAlarmHours"},
    )
    assert (properties["ComparisonOperator"], properties["TreatMissingData"]) == ("LessThanThreshold", "breaching")
    assert LocalTemplate().condition("NoAlertsAlarmOn") is False
    assert LocalTemplate(parameter_overrides={"NoAlertsAlarmHours": "6"}).condition("NoAlertsAlarmOn") is True


def test_dashboard_has_a_widget_for_each_concern(template: LocalTemplate) -> None:
    body = json.loads(template.resolve(template.resources["Dashboard"]["Properties"]["DashboardBody"]))
    widgets = {widget["properties"]["title"]: widget for widget in body["widgets"]}
    metrics = {title: json.dumps(widget["properties"].get("metrics", [])) for title, widget in widgets.items()}
    assert {"AlertsStored", "AlertsDuplicate", "RejectedRequests"} <= set(
        re.findall(r'"(\w+)"', metrics["Alerts: stored, duplicated, rejected"])
    )
    assert all(f'"stat": "{stat}"' in metrics["Webhook latency (ms)"] for stat in ("p50", "p90", "p99"))
    assert '"Errors"' in metrics["Errors and throttles"] and '"5xx"' in metrics["Errors and throttles"]
    assert '"ColdStart"' in metrics["Cold starts"]
    assert '"AlertsArchived"' in metrics["Archive progress"] and '"ArchiveIncomplete"' in metrics["Archive progress"]
    assert "ConsumedWriteCapacityUnits" in metrics["DynamoDB consumed capacity and throttling"]
    assert len(widgets["Alarms"]["properties"]["alarms"]) == 7


def test_samconfig_has_dev_and_prod_and_make_deploy_builds_first() -> None:
    import tomllib

    config = tomllib.loads((PROJECT_ROOT / "samconfig.toml").read_text())
    assert config["default"]["global"]["parameters"]["stack_name"] == "arrowhook-dev"
    assert config["prod"]["global"]["parameters"]["stack_name"] == "arrowhook-prod"
    assert "DeletionProtection=true" in config["prod"]["deploy"]["parameters"]["parameter_overrides"]
    for environment in ("default", "prod"):
        assert config[environment]["build"]["parameters"]["cached"] is False, "a cached layer keeps an old /version"
    planned = subprocess.run(
        ["make", "--dry-run", "--always-make", "deploy", "ENV=prod"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    sam_steps = [line for line in planned if ".venv-sam/bin/sam " in line]
    assert [step.split("sam ", 1)[1] for step in sam_steps] == ["build", "deploy --config-env prod"]
    in_ci = subprocess.run(
        ["make", "--dry-run", "--always-make", "deploy", "ENV=prod", "DEPLOY_FLAGS=--no-confirm-changeset"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "sam deploy --config-env prod --no-confirm-changeset" in in_ci, "the pipeline's deploy never waits for a y"


def _dashboard_metrics(template: LocalTemplate, namespace: str) -> set[str]:
    """Metric names of one namespace on the dashboard ("." in a row repeats the row above's value)."""
    body = json.loads(template.resolve(template.resources["Dashboard"]["Properties"]["DashboardBody"]))
    found: set[str] = set()
    for widget in body["widgets"]:
        previous: list[Any] = []
        for row in widget["properties"].get("metrics", []):
            values = [
                previous[index] if value == "." and index < len(previous) else value for index, value in enumerate(row)
            ]
            if values and values[0] == namespace:
                found.add(values[1])
            previous = values
    return found


def test_alarms_and_dashboard_name_only_metrics_the_code_publishes(
    raw: dict[str, Any], template: LocalTemplate
) -> None:
    """Metric names live in one list (arrowhook.core.observability.Metric): an alarm on a misspelt or retired
    name would watch nothing, forever, and say all is well."""
    from arrowhook.core.observability import METRIC_MEANINGS, Metric

    text = json.dumps(raw["Resources"])
    alarm_metrics = set(re.findall(r'"Namespace": "Arrowhook", "MetricName": "(\w+)"', text))
    alarm_metrics |= {
        metric["MetricStat"]["Metric"]["MetricName"]
        for resource in raw["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        for metric in resource["Properties"].get("Metrics", [])
        if "MetricStat" in metric and metric["MetricStat"]["Metric"].get("Namespace") == "Arrowhook"
    }
    dashboard_metrics = _dashboard_metrics(template, "Arrowhook")
    known = {metric.value for metric in Metric}
    assert alarm_metrics and dashboard_metrics, "the scan finds the metrics the template names"
    assert alarm_metrics | dashboard_metrics <= known | {"ColdStart"}
    code = "".join(path.read_text() for directory in CODE_DIRS for path in directory.rglob("*.py"))
    unpublished = {metric.value for metric in Metric if f"Metric.{metric.name}" not in code}
    assert not unpublished, f"listed but never published: {sorted(unpublished)}"
    assert set(METRIC_MEANINGS) == set(Metric), "every metric is documented"


def test_only_new_alerts_reach_delivery_and_the_bus_with_bounded_retries(raw: dict[str, Any]) -> None:
    """The delivery mapping and the Pipe read the alerts stream through the same filter: INSERTs of
    ALERT# items, so dedupe markers, counts and archive deletes never invoke code."""
    mapping = raw["Resources"]["DeliveryFunction"]["Properties"]["Events"]["AlertStream"]["Properties"]
    assert mapping["Stream"] == {"Fn::GetAtt": ["AlertsTable", "StreamArn"]}
    (only,) = mapping["FilterCriteria"]["Filters"]
    assert json.loads(only["Pattern"]) == {
        "eventName": ["INSERT"],
        "dynamodb": {
            "Keys": {"pk": {"S": [{"prefix": "ALERT#"}]}},
            # an alert restored from the archive was sent when it first arrived
            "NewImage": {"restored_at": {"S": [{"exists": False}]}},
        },
    }
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    # Retried for as long as the stream keeps a record: the consumer only records and enqueues, so what
    # fails it is an outage of ours, which must delay deliveries, never drop them.
    assert (mapping["MaximumRetryAttempts"], mapping["MaximumRecordAgeInSeconds"]) == (-1, 86400)
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["DeliveryFailureQueue", "Arn"]}
    pipe = raw["Resources"]["AlertEventPipe"]["Properties"]
    assert pipe["SourceParameters"]["FilterCriteria"] == mapping["FilterCriteria"]
    assert raw["Resources"]["AlertsTable"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}


def test_the_delivery_failure_alarm_watches_the_failure_queue(raw: dict[str, Any]) -> None:
    alarm = raw["Resources"]["DeliveryFailureAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        1,
    )
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeliveryFailureQueue", "QueueName"]}}
    ]
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_webhook_gains_nothing_from_delivery(raw: dict[str, Any]) -> None:
    """Delivery is off the hot path: the webhook gains no permission or variable for it."""
    statements = _statements(raw, "WebhookFunction")
    assert [statement["Sid"] for statement in statements] == [
        "ResolveKeySecret",
        "StoreAlert",
        "ConfirmStoredAlert",
        "ListRepeatedDelivery",
    ]
    variables = raw["Resources"]["WebhookFunction"]["Properties"]["Environment"]["Variables"]
    assert not {name for name in variables if "DELIVER" in name or "DESTINATION" in name}


def test_the_console_reads_only_its_three_secrets_and_writes_only_keys_and_destination_secrets(
    raw: dict[str, Any],
) -> None:
    """The console is its own function (never the webhook): it changes keys and destinations (the keys
    table) and destination secrets (their SSM prefix, as the destinations API does), reads alerts,
    deliveries and daily counts, and reads exactly the admin token, the cursor key and its session key."""
    statements = {statement["Sid"]: statement for statement in _statements(raw, "ConsoleFunction")}
    writes = {
        (action, statement["Sid"])
        for statement in statements.values()
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
        if action.split(":")[1].startswith(("Put", "Update", "Delete"))
    }
    table_writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert {action for action, sid in writes if sid == "ManageKeys"} == table_writes
    assert {action for action, sid in writes if sid == "ManageDestinations"} == table_writes
    assert {action for action, sid in writes if sid == "ManageDestinationSecrets"} == {
        "ssm:PutParameter",
        "ssm:DeleteParameter",
    }
    assert {sid for _, sid in writes} == {
        "ManageKeys",
        "ManageDestinations",
        "ManageDestinationSecrets",
        "RedriveDeliveries",
    }
    assert statements["ManageKeys"]["Resource"] == {"Fn::GetAtt": ["KeysTable", "Arn"]}
    assert statements["ManageDestinations"]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == [
        "DESTINATION#*"
    ]
    assert statements["ManageDestinationSecrets"]["Resource"]["Fn::Sub"].endswith("/destinations/*")
    secrets = statements["ReadConsoleSecrets"]
    assert secrets["Action"] == "ssm:GetParameter"
    assert [resource["Fn::Sub"].rsplit("}", 1)[0].rsplit("{", 1)[1] for resource in secrets["Resource"]] == [
        "AdminTokenParameter",
        "CursorKeyParameter",
        "ConsoleSessionKeyParameter",
    ]
    assert raw["Resources"]["ConsoleFunction"]["Properties"]["CodeUri"] == "functions/console/"


def _make_plan(*arguments: str) -> list[str]:
    planned = subprocess.run(
        ["make", "--dry-run", "--always-make", *arguments], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return [
        line.split(".venv-sam/bin/", 1)[0] + line.split(".venv-sam/bin/", 1)[1] for line in planned if "sam " in line
    ]


def test_x86_64_builds_are_for_local_work_and_deploys_stay_arm64() -> None:
    parameters = LocalTemplate().raw["Parameters"]
    assert parameters["Architecture"]["Default"] == "arm64"
    assert LocalTemplate().raw["Globals"]["Function"]["Architectures"] == [{"Ref": "Architecture"}]
    assert _make_plan("build", "ARCH=x86_64") == [
        "LAMBDA_PLATFORM=manylinux2014_x86_64 sam build --parameter-overrides Architecture=x86_64"
    ]
    assert _make_plan("build") == ["sam build"]
    # A developer's ARCH=x86_64 never reaches a deployment:
    assert _make_plan("deploy", "ARCH=x86_64")[0] == "sam build"


def test_sam_local_config_environments_read_what_make_dev_writes() -> None:
    import tomllib

    from arrowhook_tools.local.containers import SAM_ENV_FILE

    config = tomllib.loads((PROJECT_ROOT / "samconfig.toml").read_text())
    for environment in ("local", "local-x86_64"):
        for command in ("local_invoke", "local_start_api"):
            settings = config[environment][command]["parameters"]
            assert PROJECT_ROOT / settings["env_vars"] == SAM_ENV_FILE
        assert config[environment]["local_start_api"]["parameters"]["port"] != 3000, "make dev serves 3000"
        assert (
            config[environment]["global"]["parameters"]["region"] == config["default"]["deploy"]["parameters"]["region"]
        )
    assert "Architecture=x86_64" in config["local-x86_64"]["local_invoke"]["parameters"]["parameter_overrides"]


def test_the_endpoint_variable_exists_only_for_local_work() -> None:
    """Declared (SAM's --env-vars overrides declared variables only), but absent from a deployed function."""
    deployed = LocalTemplate()
    for spec in deployed.functions():
        assert "AWS_ENDPOINT_URL" not in spec.environment, spec.logical_id
    pointed = LocalTemplate(parameter_overrides={"LocalEndpointUrl": "http://172.17.0.1:4566"})
    assert {spec.environment["AWS_ENDPOINT_URL"] for spec in pointed.functions()} == {"http://172.17.0.1:4566"}


def test_each_destination_has_a_lane_and_the_sender_is_bounded(raw: dict[str, Any], template: LocalTemplate) -> None:
    """A FIFO queue whose message group is the destination (docs/destinations.md): in order per lane, a
    slow lane holds only itself; the sender takes one message per invocation, at most SenderConcurrency
    lanes at once; only it may read destination secrets and hide a message until its retry."""
    queue = raw["Resources"]["DeliveryQueue"]["Properties"]
    assert (queue["FifoQueue"], queue["ContentBasedDeduplication"]) == (True, False)
    assert (queue["DeduplicationScope"], queue["FifoThroughputLimit"]) == ("messageGroup", "perMessageGroupId")
    assert queue["MessageRetentionPeriod"] == 1_209_600, "kept longer than the retry schedule's ~27 hours"
    lanes = raw["Resources"]["SenderFunction"]["Properties"]["Events"]["Lanes"]["Properties"]
    assert (lanes["BatchSize"], lanes["FunctionResponseTypes"]) == (1, ["ReportBatchItemFailures"])
    assert lanes["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "SenderConcurrency"}}
    statements = {
        statement["Sid"]: statement
        for function in ("DeliveryFunction", "SenderFunction")
        for statement in raw["Resources"][function]["Properties"]["Policies"][0]["Statement"]
        if function == "SenderFunction" or statement["Sid"] in ("ReadDestinationSecrets", "EnqueueInLanes")
    }
    assert statements["ReadDestinationSecrets"]["Resource"]["Fn::Sub"].endswith("/destinations/*")
    assert statements["RetryLater"]["Action"] == "sqs:ChangeMessageVisibility"
    delivery_sids = [s["Sid"] for s in raw["Resources"]["DeliveryFunction"]["Properties"]["Policies"][0]["Statement"]]
    assert "ReadDestinationSecrets" not in delivery_sids, "the stream's consumer sends nothing"


def test_tracing_is_opt_in_for_every_function_and_the_code_follows_it() -> None:
    """X-Ray is billed per trace recorded: off (PassThrough) by default; on, every function traces and its
    Powertools Tracer runs (the webhook's included)."""
    for value, mode, disabled in (("off", "PassThrough", "true"), ("on", "Active", "false")):
        template = LocalTemplate(parameter_overrides={"Tracing": value})
        assert template.resolve(template.raw["Globals"]["Function"]["Tracing"]) == mode
        for _, function in template.resources_of_type("AWS::Serverless::Function"):
            assert "Tracing" not in function["Properties"], "every function follows the parameter"
        for spec in template.functions():
            assert spec.environment["POWERTOOLS_TRACE_DISABLED"] == disabled, spec.logical_id
    assert "$5.00 per million" in LocalTemplate().raw["Parameters"]["Tracing"]["Description"]


@pytest.mark.parametrize(("level", "lambda_level"), [("DEBUG", "DEBUG"), ("INFO", "INFO"), ("WARNING", "WARN")])
def test_lambda_logs_json_with_its_own_lines_at_warn_and_the_application_at_the_log_level(
    level: str, lambda_level: str
) -> None:
    """Lambda's START/END/REPORT lines are dropped (billed as ingestion, read by nobody: the metrics have the
    same figures); Lambda's application level is the one Powertools obeys, so it follows LogLevel."""
    template = LocalTemplate(parameter_overrides={"LogLevel": level})
    config = template.resolve(template.raw["Globals"]["Function"]["LoggingConfig"])
    assert config == {"LogFormat": "JSON", "SystemLogLevel": "WARN", "ApplicationLogLevel": lambda_level}
    for _, function in template.resources_of_type("AWS::Serverless::Function"):
        assert "LoggingConfig" not in function["Properties"], "every function follows the Globals"


def _alert_indexes(step: str) -> tuple[set[str], set[str], set[str]]:
    """At an upgrade step: the alerts table's indexes, the attributes it defines, the indexes functions read."""
    template = LocalTemplate(parameter_overrides={"AlertIndexUpgrade": step})
    table = template.tables()[template.physical_name("AlertsTable")]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    defined = {attribute["AttributeName"] for attribute in table["AttributeDefinitions"]}
    used = {"pk"} | {part["AttributeName"] for index in indexes.values() for part in index["KeySchema"]}
    assert defined == used, (step, "DynamoDB refuses a defined attribute no key uses")
    read = {spec.environment["ALERT_INDEXES"] for spec in template.functions()}
    assert len(read) == 1, "every function reads the same indexes"
    return set(indexes), defined, set(read.pop().split(","))


def test_the_alert_indexes_upgrade_one_index_per_deploy_and_functions_read_only_built_ones() -> None:
    """CloudFormation creates or deletes one index per table update, and does not wait for a new one to
    be built (a further update fails until it is). So from an older stack each step changes exactly one
    index, and the functions switch to the new ones only in a step after both were created."""
    from arrowhook_tools.cli.index_upgrade import OLD_INDEXES, STEPS

    template = LocalTemplate()
    assert template.raw["Parameters"]["AlertIndexUpgrade"]["AllowedValues"] == ["done", *STEPS[:-1]]
    before: set[str] = set(OLD_INDEXES)
    for step in STEPS:
        indexes, _, read = _alert_indexes(step)
        assert len(indexes ^ before) == 1, (step, sorted(indexes ^ before))
        # An index created by the previous deploy is built by the time this one may start.
        assert read <= before & indexes, (step, "reads only indexes that existed before this deploy began")
        before = indexes
    assert before == {"AlertsByStrategy", "AlertsByDay"}, "the default is the upgraded layout"
    assert _alert_indexes("done")[2] == {"AlertsByStrategy", "AlertsByDay"}


def test_the_alert_indexes_hold_only_what_never_changes_on_an_alert() -> None:
    """Writing a check's verdict or a duplicate on an alert must write no index entry: the projected
    attributes are set once, when the alert is stored."""
    template = LocalTemplate()
    table = template.tables()[template.physical_name("AlertsTable")]
    for index in table["GlobalSecondaryIndexes"]:
        assert index["Projection"]["ProjectionType"] == "INCLUDE", index["IndexName"]
        assert set(index["Projection"]["NonKeyAttributes"]) <= {"ticker", "side", "strategy", "key_id"}


def test_the_live_websocket_api_routes_to_one_function_and_only_it_and_the_fan_out_post(raw: dict[str, Any]) -> None:
    """The WebSocket API (docs/live.md): its three routes to LiveFunction, the ticket checked by the
    function (no authorizer can read a browser's header-less upgrade), a throttled and access-logged stage,
    and `execute-api:ManageConnections` granted to that function only, for POST on this API's stage."""
    resources = raw["Resources"]
    api = resources["LiveApi"]["Properties"]
    assert (api["ProtocolType"], api["RouteSelectionExpression"]) == ("WEBSOCKET", "$request.body.action")
    routes = {
        resource["Properties"]["RouteKey"]: resource["Properties"]
        for resource in resources.values()
        if resource["Type"] == "AWS::ApiGatewayV2::Route"
    }
    assert set(routes) == {"$connect", "$disconnect", "$default"}
    assert {route["Target"]["Fn::Sub"] for route in routes.values()} == {"integrations/${LiveIntegration}"}
    uri, variables = resources["LiveIntegration"]["Properties"]["IntegrationUri"]["Fn::Sub"]
    assert uri.endswith("/functions/${LiveAlias}/invocations")
    assert variables == {"LiveAlias": {"Ref": "LiveFunction.Alias"}}, "the alias, as the HTTP API's functions"
    stage = resources["LiveStage"]["Properties"]
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0 and "AccessLogSettings" in stage
    managing = {
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
        for statement in _statements(raw, logical_id)
        if "execute-api:ManageConnections" in json.dumps(statement["Action"])
    }
    assert managing == {"LiveFunction", "DeliveryFunction"}  # its answers; the fan-out of new alerts
    (answer,) = [statement for statement in _statements(raw, "LiveFunction") if statement["Sid"] == "AnswerConnections"]
    assert answer["Resource"]["Fn::Sub"].endswith("${LiveApi}/live/POST/@connections/*")


def test_live_connection_records_expire_with_the_keys_tables_ttl(raw: dict[str, Any]) -> None:
    """Connections and redeemed tickets are keys-table items written with `ttl` (arrowhook.live.store),
    the attribute the table expires; the function touches only those item types."""
    ttl = raw["Resources"]["KeysTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "ttl", "Enabled": True}
    store = (PROJECT_ROOT / "layers/arrowhook/arrowhook/live/store.py").read_text()
    assert '"ttl": connection.expires_at' in store and '"ttl": {"N":' in store
    (records,) = [s for s in _statements(raw, "LiveFunction") if s["Sid"] == "RecordConnectionsAndTickets"]
    assert records["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["CONNECTION#*", "TICKET#*"]
