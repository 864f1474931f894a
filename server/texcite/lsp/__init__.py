"""The LSP layer: converts between LSP messages and the engine, and schedules the engine's work."""
