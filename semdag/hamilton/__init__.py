"""Everything that talks to Hamilton: loading stacks, building, running, source hashing."""
