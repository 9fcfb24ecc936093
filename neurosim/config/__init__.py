"""Configuration: the scenario and device-file schemas, YAML in, validated typed records out."""
