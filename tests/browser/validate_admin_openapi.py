"""Validates the admin API's OpenAPI document (GET /admin/v1/openapi.json on --admin-bind) with
openapi-spec-validator, then each live answer of the admin API against the schema its
operation documents (jsonschema, Draft 2020-12, the dialect of OpenAPI 3.1).

    validate_admin_openapi.py OPENAPI_JSON CASES_JSON

CASES_JSON: [{"where": ..., "schema": {"$ref": "#/components/schemas/X"} or an inline schema
whose $refs point into the document's components, "instance": ...}]
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
    print("admin openapi document valid")
    failures = []
    for case in cases:
        schema = {**case["schema"], "components": doc["components"]}
        for e in sorted(Draft202012Validator(schema).iter_errors(case["instance"]), key=str):
            failures.append(f"{case['where']}: {e.message} at {list(e.absolute_path)}")
    # A check that can fail: a malformed user and a leaked field are refused.
    probe = {"$ref": "#/components/schemas/User", "components": doc["components"]}
    if Draft202012Validator(probe).is_valid({"user_name": 7}):
        failures.append("a malformed User was accepted: schemas check nothing")
    probe = {"$ref": "#/components/schemas/Client", "components": doc["components"]}
    if Draft202012Validator(probe).is_valid({"secret_hash": "x"}):
        failures.append("a Client with a secret hash was accepted")
    if failures:
        print("\n".join(failures))
        return 1
    print(f"{len(cases)} answers valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
