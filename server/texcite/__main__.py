"""``python -m texcite`` runs the CLI (the VS Code extension starts ``python -m texcite serve``).

The guard matters: in-process vLLM starts worker processes with 'spawn', which re-import this module.
"""

from texcite.cli import run

if __name__ == "__main__":
    run()
