"""Validates Gatehouse's OpenAPI document with openapi-spec-validator, then each JSON sample of
the help pages against the schema it documents (jsonschema, Draft 2020-12, the dialect of
OpenAPI 3.1).

    validate_openapi.py OPENAPI_JSON CASES_JSON

CASES_JSON: [{"where": ..., "ref": "#/components/schemas/X", "instance": ...}, ...]
"""

import json
import sys

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        cases = json.load(f)
    validate(doc)
    print("openapi document valid")
    failures = []
    for case in cases:
        # The whole document is the root, so a $ref may point anywhere in it (components or
        # a path's inline schema); its other members are not schema keywords.
        schema = {"$ref": case["ref"], "components": doc["components"], "paths": doc["paths"]}
        errors = sorted(
            Draft202012Validator(schema).iter_errors(case["instance"]), key=str
        )
        for e in errors:
            failures.append(f"{case['where']}: {e.message} at {list(e.absolute_path)}")
    # A check that can fail: a wrong instance must be refused by the same machinery.
    probe = {"$ref": "#/components/schemas/TokenModel", "components": doc["components"]}
    if Draft202012Validator(probe).is_valid({"ExpireIn": "twenty minutes"}):
        failures.append("a malformed TokenModel was accepted: schemas check nothing")
    if failures:
        print("\n".join(failures))
        return 1
    print(f"{len(cases)} samples valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
