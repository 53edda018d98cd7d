"""The contracts: the YAML beside this file is the single source of truth.

`warehouse-connections.yaml` is the API; `operations.yaml` the probes and metrics for operators.
"""

from pathlib import Path

SPEC_PATH = Path(__file__).with_name("warehouse-connections.yaml")
OPERATIONS_SPEC_PATH = Path(__file__).with_name("operations.yaml")
