"""A small valid project that error-path tests break one piece at a time."""

SAMPLE_MODULE = '''
from hamilton.function_modifiers import tag


def a(x: int) -> int:
    """A."""
    return x + 1


@tag(layer="semantic", semantic_id="t.b.v1", entity="repo", grain="per_repo", dtype="int",
     version="1")
def b(a: int) -> int:
    """B."""
    return a * 2
'''
SAMPLE_PROFILE = "stack:\n  core: [pkg.good]\ninputs:\n  x: 1\n"
