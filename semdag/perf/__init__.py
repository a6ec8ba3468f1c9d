"""Process-level speed tools: the fork pool and garbage-collector pauses."""
