"""``texcite web``: a local Gradio page to try and inspect the ranking — Suggest, Rerank, Compare, Evaluate — on the
same pipeline and settings as the server (``pip install 'texcite[web]'``; gradio is imported only in here)."""
