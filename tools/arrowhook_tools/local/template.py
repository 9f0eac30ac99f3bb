"""template.yaml as the local runtime sees it: CloudFormation tags, parameters, intrinsics, routes."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"
LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT = "123456789012"
_NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that keeps CloudFormation short-form tags as their long-form dicts."""


def _construct_tag(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = tag_suffix.lstrip("!")
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if name == "Ref":
        return {"Ref": value}
    if name == "Condition":
        return {"Condition": value}
    if name == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{name}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        loaded = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass  # nosec B506
    if not isinstance(loaded, dict):
        raise ValueError(f"{path} is not a CloudFormation template")
    return loaded


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function_id: str
    authorizer: str | None = None

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class AuthorizerSpec:
    """An HttpApi Lambda authorizer as API Gateway runs it: simple responses, header identity, cache TTL."""

    name: str
    function_id: str
    identity_headers: tuple[str, ...]
    ttl_seconds: int


@dataclass(frozen=True)
class Throttle:
    """A route's API Gateway throttling: steady requests per second and the bucket size for bursts."""

    rate: float
    burst: int


@dataclass(frozen=True)
class CorsSpec:
    allow_origins: tuple[str, ...]
    allow_headers: tuple[str, ...]
    allow_methods: tuple[str, ...]
    max_age: int

    def allows(self, origin: str) -> bool:
        return "*" in self.allow_origins or origin in self.allow_origins


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    environment: dict[str, str] = field(default_factory=dict)
    timeout_seconds: float = 3.0
    memory_mb: int = 128

    @property
    def module_path(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_dir / (module.replace(".", "/") + ".py")

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


class ParameterError(ValueError):
    """A parameter override CloudFormation would refuse: unknown name or a value outside its constraints."""


def check_parameter(name: str, value: str, spec: Mapping[str, Any]) -> None:
    """Apply CloudFormation's parameter constraints (Type Number, Min/MaxValue, AllowedValues,
    AllowedPattern, Min/MaxLength) to one override, as `sam deploy` would have the stack refuse it."""
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(option) for option in allowed]:
        raise ParameterError(f"{name}={value!r}: must be one of {', '.join(str(option) for option in allowed)}")
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            raise ParameterError(f"{name}={value!r}: must be a number") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise ParameterError(f"{name}={value}: must be at least {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise ParameterError(f"{name}={value}: must be at most {spec['MaxValue']}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), value) is None:
        raise ParameterError(f"{name}={value!r}: must match {pattern}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        raise ParameterError(f"{name}={value!r}: must be at least {spec['MinLength']} characters")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        raise ParameterError(f"{name}={value!r}: must be at most {spec['MaxLength']} characters")


class LocalTemplate:
    """Resolves the template for local use: table names are `<prefix>-<LogicalId>`, ARNs are fabricated."""

    def __init__(
        self,
        template: dict[str, Any] | None = None,
        *,
        stack_name: str = "arrowhook-local",
        parameter_overrides: Mapping[str, str] | None = None,
        root: Path = PROJECT_ROOT,
    ) -> None:
        self.raw = template if template is not None else load_template(root / "template.yaml")
        self.root = root
        self.stack_name = stack_name
        self.resources: dict[str, Any] = self.raw.get("Resources", {})
        declared: dict[str, Any] = self.raw.get("Parameters", {})
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
        for name, value in (parameter_overrides or {}).items():
            if name not in declared:
                raise ParameterError(
                    f"unknown parameter {name!r}; template.yaml declares {', '.join(sorted(declared))}"
                )
            check_parameter(name, value, declared[name])
        self.parameters.update(parameter_overrides or {})
        #: API endpoints the local stack serves itself: a function's variable that starts with a key (an
        #: execute-api URL the template builds) starts with its value instead (the local stand-in's URL).
        self.local_endpoints: dict[str, str] = {}
        self._conditions: dict[str, bool] = {}

    # -- intrinsics --------------------------------------------------------------------------------
    def physical_name(self, logical_id: str) -> str:
        name = f"{self.stack_name}-{logical_id}"
        resource = self.resources.get(logical_id, {})
        if resource.get("Type") == "AWS::S3::Bucket":
            return name.lower()  # S3 bucket names are lower-case
        if resource.get("Type") == "AWS::SQS::Queue" and resource.get("Properties", {}).get("FifoQueue"):
            return f"{name}.fifo"  # as CloudFormation names a FIFO queue (SQS requires the suffix)
        return name

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        if kind == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{LOCAL_REGION}:{LOCAL_ACCOUNT}:table/{name}"
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{name}"
        service = kind.split("::")[1].lower()
        return f"arn:aws:{service}:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{name}"

    def _ref(self, name: str) -> Any:  # noqa: PLR0911 - one return per kind of name
        pseudo = {
            "AWS::Region": LOCAL_REGION,
            "AWS::AccountId": LOCAL_ACCOUNT,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        function_id, _, published = name.partition(".")
        if published in ("Version", "Alias") and function_id in self.resources:
            # SAM's AutoPublishAlias: the local stack runs one version of each function, its latest.
            return f"{self.arn(function_id)}:{'live' if published == 'Alias' else '$LATEST'}"
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            kind = self.resources[name]["Type"]
            if kind == "Custom::SecureParameter":  # its physical id is the parameter's name
                return self.resolve(self.resources[name]["Properties"]["Name"])
            if kind == "AWS::SQS::Queue":  # a queue's Ref is its URL
                return f"https://sqs.{LOCAL_REGION}.amazonaws.com/{LOCAL_ACCOUNT}/{self.physical_name(name)}"
            if kind == "AWS::SNS::Topic":
                return self.arn(name)
            return name.lower() if kind == "AWS::Serverless::HttpApi" else self.physical_name(name)
        raise KeyError(f"Ref to unknown name {name!r}")

    def _get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in ("QueueName", "Name"):
            return self.physical_name(logical_id)
        return f"{self.physical_name(logical_id)}.{attribute}"

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.raw.get("Conditions", {})[name]))
        return self._conditions[name]

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self._get_att(logical_id, attribute)
            return str(self._ref(name))

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def resolve(self, value: Any) -> Any:  # noqa: PLR0911, PLR0912 - one branch per intrinsic
        if isinstance(value, list):
            return [item for item in (self.resolve(entry) for entry in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                return self._ref(argument)
            if name == "Condition":
                return self.condition(argument)
            if name == "Fn::GetAtt":
                return self._get_att(argument[0], argument[1])
            if name == "Fn::Sub":
                if isinstance(argument, list):
                    return self._sub(argument[0], argument[1])
                return self._sub(argument, {})
            if name == "Fn::If":
                return self.resolve(argument[1] if self.condition(argument[0]) else argument[2])
            if name == "Fn::Equals":
                left, right = (self.resolve(item) for item in argument)
                return str(left) == str(right)
            if name == "Fn::Not":
                return not self.resolve(argument[0])
            if name == "Fn::And":
                return all(self.resolve(item) for item in argument)
            if name == "Fn::Or":
                return any(self.resolve(item) for item in argument)
            if name == "Fn::Join":
                return str(argument[0]).join(str(self.resolve(item)) for item in argument[1])
            if name == "Fn::Select":
                return self.resolve(argument[1])[int(self.resolve(argument[0]))]
            if name == "Fn::Split":
                return str(self.resolve(argument[1])).split(argument[0])
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    # -- views -------------------------------------------------------------------------------------
    def resources_of_type(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if resource.get("Type") == kind:
                yield logical_id, resource

    def function_spec(self, logical_id: str) -> FunctionSpec:
        properties = self.resources[logical_id]["Properties"]
        function_globals = self.raw.get("Globals", {}).get("Function", {})
        global_env = function_globals.get("Environment", {}).get("Variables", {})
        own_env = properties.get("Environment", {}).get("Variables", {})
        resolved = {name: self.resolve(value) for name, value in {**global_env, **own_env}.items()}
        environment = {name: _env_text(value) for name, value in resolved.items() if value is not _NO_VALUE}
        for name, value in environment.items():
            for served, local in self.local_endpoints.items():
                if value.startswith(served):
                    environment[name] = local + value[len(served) :]
        return FunctionSpec(
            logical_id=logical_id,
            code_dir=self.root / properties["CodeUri"],
            handler=properties["Handler"],
            environment=environment,
            timeout_seconds=float(self.resolve(properties.get("Timeout", function_globals.get("Timeout", 3)))),
            memory_mb=int(self.resolve(properties.get("MemorySize", function_globals.get("MemorySize", 128)))),
        )

    def execute_api_domain(self, logical_id: str) -> str:
        """`<api id>.execute-api.<region>.amazonaws.com`, as the template's `!Sub` builds it locally."""
        return f"{self._ref(logical_id)}.execute-api.{LOCAL_REGION}.amazonaws.com"

    def functions(self) -> list[FunctionSpec]:
        return [self.function_spec(logical_id) for logical_id, _ in self.resources_of_type("AWS::Serverless::Function")]

    def _api_properties(self) -> dict[str, Any]:
        for _, resource in self.resources_of_type("AWS::Serverless::HttpApi"):
            properties: dict[str, Any] = resource.get("Properties", {})
            return properties
        return {}

    def _api_auth(self) -> dict[str, Any]:
        auth: dict[str, Any] = self._api_properties().get("Auth", {})
        return auth

    def throttles(self) -> tuple[Throttle | None, dict[str, Throttle]]:
        """The stage's default route throttle and the per-route ones, keyed by route key ("POST /webhook")."""

        def throttle(settings: Any) -> Throttle | None:
            settings = self.resolve(settings or {})
            if "ThrottlingRateLimit" not in settings and "ThrottlingBurstLimit" not in settings:
                return None
            return Throttle(
                rate=float(settings.get("ThrottlingRateLimit", 10_000)),
                burst=int(settings.get("ThrottlingBurstLimit", 5_000)),
            )

        properties = self._api_properties()
        routes = {
            route_key: found
            for route_key, settings in (properties.get("RouteSettings") or {}).items()
            if (found := throttle(settings)) is not None
        }
        return throttle(properties.get("DefaultRouteSettings")), routes

    def cors(self) -> CorsSpec | None:
        """CorsConfiguration as API Gateway applies it; None when the template leaves CORS off."""
        configured = self.resolve({"cors": self._api_properties().get("CorsConfiguration", {"Ref": "AWS::NoValue"})})
        cors = configured.get("cors")
        if not isinstance(cors, dict):
            return None
        return CorsSpec(
            allow_origins=tuple(str(origin).strip() for origin in cors.get("AllowOrigins", []) if str(origin).strip()),
            allow_headers=tuple(str(header).lower() for header in cors.get("AllowHeaders", [])),
            allow_methods=tuple(str(method).upper() for method in cors.get("AllowMethods", [])),
            max_age=int(cors.get("MaxAge", 0)),
        )

    def authorizers(self) -> dict[str, AuthorizerSpec]:
        specs = {}
        for name, config in self._api_auth().get("Authorizers", {}).items():
            function_arn = config["FunctionArn"]
            if isinstance(function_arn, dict) and "Fn::GetAtt" in function_arn:
                function_id = function_arn["Fn::GetAtt"][0]
            elif isinstance(function_arn, dict) and str(function_arn.get("Ref", "")).endswith(".Alias"):
                function_id = function_arn["Ref"].removesuffix(".Alias")
            else:
                raise ValueError(
                    f"authorizer {name}: FunctionArn must be !GetAtt <Function>.Arn or !Ref <Function>.Alias"
                )
            identity = config.get("Identity", {})
            specs[name] = AuthorizerSpec(
                name=name,
                function_id=function_id,
                identity_headers=tuple(str(header).lower() for header in identity.get("Headers", [])),
                ttl_seconds=int(self.resolve(identity.get("ReauthorizeEvery", 300))),
            )
        return specs

    def routes(self) -> list[Route]:
        routes: list[Route] = []
        default_authorizer = self._api_auth().get("DefaultAuthorizer")
        for logical_id, resource in self.resources_of_type("AWS::Serverless::Function"):
            for event in resource.get("Properties", {}).get("Events", {}).values():
                if event.get("Type") != "HttpApi":
                    continue
                properties = event.get("Properties", {})
                auth = properties.get("Auth", {}).get("Authorizer", default_authorizer)
                routes.append(
                    Route(
                        method=str(properties.get("Method", "ANY")).upper(),
                        path=properties.get("Path", "$default"),
                        function_id=logical_id,
                        authorizer=None if auth in (None, "NONE") else str(auth),
                    )
                )
        return routes

    def buckets(self) -> dict[str, dict[str, Any]]:
        """Physical bucket name -> resolved AWS::S3::Bucket properties."""
        return {
            self.physical_name(logical_id): self.resolve(resource.get("Properties", {}))
            for logical_id, resource in self.resources_of_type("AWS::S3::Bucket")
        }

    def tables(self) -> dict[str, dict[str, Any]]:
        """Physical table name -> resolved AWS::DynamoDB::Table properties."""
        return {
            self.physical_name(logical_id): self.resolve(resource.get("Properties", {}))
            for logical_id, resource in self.resources_of_type("AWS::DynamoDB::Table")
        }


def _env_text(value: Any) -> str:
    """CloudFormation passes every environment value as a string; booleans as lower-case words."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
