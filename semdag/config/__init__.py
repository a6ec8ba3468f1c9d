"""The project and its profiles: discovery, YAML reading, typed settings."""
