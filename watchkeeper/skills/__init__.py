"""The skill framework: metadata, registry, invoke, packs; one file per built-in skill."""
