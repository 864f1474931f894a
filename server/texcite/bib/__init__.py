"""The bibliography: entries and files, parsing, incremental re-parsing, the on-disk cache and the store of parsed files."""
