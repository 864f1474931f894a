"""``texcite eval``: how well the engine recovers the keys a project's authors actually cited.

By concept: ``projects`` finds the LaTeX projects under a path; ``examples`` turns each resolvable citation into a
probe (its keys removed, the cursor in the braces); ``metrics`` counts Recall@k and MRR; ``run`` ranks every
probe through the engine and returns an ``Evaluation``; ``report`` prints it (text, JSON). The CLI, the web page's
Evaluate tab and the fitting scripts of bench/ share them.
"""
