"""The writer's library (``texcite.library.files``): their whole collection of references, read (``sources``,
``csl``), indexed once per engine (``index``), ranked beside the project's entries (``candidates``) and written into
the project's bibliography when a writer accepts one (``addition``)."""
