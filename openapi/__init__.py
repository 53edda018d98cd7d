"""The API contract. The YAML beside this file is the single source of truth."""

from pathlib import Path

SPEC_PATH = Path(__file__).with_name("warehouse-connections.yaml")
