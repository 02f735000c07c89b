"""Built-in skills, one per file. Adding a file here adds a skill."""
