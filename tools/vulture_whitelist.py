"""Names vulture reports that are used after all."""
