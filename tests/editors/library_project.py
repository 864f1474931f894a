"""The project and the library of the real-editor tests of accepting a library entry (test_library_accept.py): a
paragraph on protein structure prediction that calls for AlphaFold's paper and one on sequence transduction that
calls for the Transformer's, neither in refs.bib, both in the writer's library (a .bib, or CSL-JSON)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

MAIN = "\n".join([
    "\\documentclass{article}",
    "\\begin{document}",
    "",
    "\\section{Introduction}",
    "Predicting the three-dimensional structure of a protein from its amino acid sequence was long an open problem;",
    "deep learning now predicts protein structures with atomic accuracy",  # PROTEIN_LINE: the cite goes at its end
    "from the sequence and multiple sequence alignments.",
    "",
    "Sequence transduction models once relied on recurrent networks; the Transformer, a network architecture",
    "based solely on attention mechanisms, dispenses with recurrence",  # ATTENTION_LINE
    "and trains much faster on machine translation.",
    "",
    "Relational databases keep data in tables queried with SQL \\cite{codd1970relational}.",
    "",
    "\\bibliography{refs}",
    "\\end{document}",
    "",
])
PROTEIN_LINE, ATTENTION_LINE = 5, 9  # 0-based
PROTEIN_KEY, ATTENTION_KEY = "jumper2021highly", "vaswani2017attention"

REFS = """@article{codd1970relational,
  author = {Codd, E. F.},
  title = {A Relational Model of Data for Large Shared Data Banks},
  journal = {Communications of the ACM},
  year = {1970},
}

@article{knuth1984literate,
  author = {Knuth, Donald E.},
  title = {Literate Programming},
  journal = {The Computer Journal},
  year = {1984},
}

@book{lamport1994latex,
  author = {Lamport, Leslie},
  title = {LaTeX: A Document Preparation System},
  publisher = {Addison-Wesley},
  year = {1994},
}
"""

PROTEIN_ENTRY = """@article{jumper2021highly,
  author = {Jumper, John and Evans, Richard and Pritzel, Alexander and Hassabis, Demis},
  title = {Highly Accurate Protein Structure Prediction with AlphaFold},
  journal = {Nature},
  volume = {596},
  pages = {583--589},
  year = {2021},
}"""

ATTENTION_ENTRY = """@inproceedings{vaswani2017attention,
  author = {Vaswani, Ashish and Shazeer, Noam and Parmar, Niki and Uszkoreit, Jakob},
  title = {Attention Is All You Need},
  booktitle = {Advances in Neural Information Processing Systems},
  year = {2017},
}"""

OTHER_ENTRY = """@article{lecun2015deep,
  author = {LeCun, Yann and Bengio, Yoshua and Hinton, Geoffrey},
  title = {Deep Learning},
  journal = {Nature},
  year = {2015},
}"""

# The same AlphaFold paper as Zotero exports it (CSL-JSON).
PROTEIN_CSL = {"id": PROTEIN_KEY, "type": "article-journal",
               "title": "Highly Accurate Protein Structure Prediction with AlphaFold",
               "author": [{"family": "Jumper", "given": "John"}, {"family": "Evans", "given": "Richard"}],
               "container-title": "Nature", "volume": "596", "page": "583-589", "issued": {"date-parts": [[2021]]}}


def make(root: Path, csl: bool = False) -> tuple[Path, Path]:
    """A git project (main.tex, refs.bib) under ``root``/paper and the library beside it: (project, library)."""
    project = root / "paper"
    project.mkdir(parents=True)
    (project / "main.tex").write_text(MAIN, encoding="utf-8")
    (project / "refs.bib").write_text(REFS, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(project)], check=True, capture_output=True)
    if csl:
        library = root / "library.json"
        library.write_text(json.dumps([PROTEIN_CSL], indent=2), encoding="utf-8")
    else:
        library = root / "library.bib"
        library.write_text("\n\n".join([OTHER_ENTRY, PROTEIN_ENTRY, ATTENTION_ENTRY]) + "\n", encoding="utf-8")
    return project, library
