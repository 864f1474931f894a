"""The dense half of retrieval: sentence encoders (one file per runtime: ``onnx_embedder``, ``torch_embedder``),
the embeddings of a bibliography built in the background and cached (``dense``), and the query's dense signals
(``hybrid``)."""
