"""Finding the entries that fit a query: BM25, the corpus of a document, dense embeddings, the hybrid fusion, typed-text matching."""
