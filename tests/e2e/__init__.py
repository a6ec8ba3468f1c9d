"""End-to-end and cross-cutting tests: real processes, commits, browsers and CI recipes,
the layering of the package, determinism across runs, hostile input on every surface,
property tests over the loaders, docs and the benchmark harness."""
