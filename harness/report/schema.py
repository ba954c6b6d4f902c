"""Results schema: the JSON Schema of ``results.json``, generated from :class:`RunResults`.

``python -m harness.report.schema > docs/results-schema.json`` regenerates the
documented copy; a test checks that the copy is current.
"""

from __future__ import annotations

import json

from harness.results.run import RunResults


def results_schema() -> str:
    """The schema of results.json as indented, key-sorted JSON text."""
    return json.dumps(RunResults.model_json_schema(mode="serialization"), indent=2, sort_keys=True)


if __name__ == "__main__":
    print(results_schema())
