"""Run by aws-sam-cli's own Python (its venv has the SAM translator): print template.yaml as the
CloudFormation that SAM deploys, for the given parameter values (JSON in argv[1]).

Code locations become placeholder S3 URIs (what `sam package` would upload); nothing is called on AWS.
"""

import json
import sys
from pathlib import Path

from samtranslator.translator.transform import transform  # type: ignore[import-not-found]
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-not-found]


class _NoManagedPolicies:
    """The template names no managed policy by name, so nothing needs to be looked up in IAM."""

    def load(self) -> dict[str, str]:
        return {}


def main() -> None:
    template = yaml_parse((Path(__file__).resolve().parents[2] / "template.yaml").read_text())
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://packaged/{properties[key].strip('/')}.zip"
    parameters = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    print(json.dumps(transform(template, parameters, _NoManagedPolicies())))


if __name__ == "__main__":
    main()
