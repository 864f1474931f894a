"""LaTeX source: plain text, the lexical scan, citation commands, the query at the cursor, and the project a file belongs to."""
