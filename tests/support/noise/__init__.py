"""A small feed of the tests' own, added through the registry: road-noise meters."""
