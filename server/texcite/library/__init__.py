"""The writer's library (``texcite.library.files``): their whole collection of references, read (``sources``,
``csl``), indexed once per engine (``index``) and kept packed in a cache of its own for the next start (``cache``,
``packed``, ``packfile``), ranked beside the project's entries (``candidates``) and written into the project's
bibliography when a writer accepts one (``addition``)."""
