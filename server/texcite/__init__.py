"""texcite: a language server that suggests the right citation for the paragraph you are writing."""

__version__ = "0.1.0"
