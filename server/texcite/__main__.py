"""``python -m texcite`` runs the CLI (the VS Code extension starts ``python -m texcite serve``)."""

from texcite.cli import main

raise SystemExit(main())
