"""Finding the entries that fit a query: BM25, the corpus of a document, dense embeddings, the project's citation
evidence, the signals and their learned fusion, reasons in words, typed-text matching."""
