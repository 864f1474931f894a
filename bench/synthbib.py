"""Seeded synthetic .bib files and LaTeX paragraphs for the benchmarks (no real data needed).

Words come from science roots x suffixes plus common English words, drawn with a Zipf-like law so the term
statistics (a few very frequent words, a long tail) resemble real titles and abstracts.
"""

from __future__ import annotations

import random

COMMON = """the of and in to a is for that with on by as are this from be we an which at or it can these our
has have its not also their between more than two new both such been using based show into one over all
results method approach model data study analysis performance paper propose present large high low effect
effects different first use time important however well while under through each most effective significant
recent several without other three problem problems present work across further find found shows""".split()
ROOTS = """neur cardi bio geo hydr therm electr magnet phot quant astr cosm chem gen prote cell molec atom
nucle spectr optic acoust seism clim ocean atmos ecol evol immun vir bacter path pharm tox metabol enzym
lip carb polym cryst semi conduct superconduct plasm fluid turbul vortex wave field graph network tensor
matrix vector spars optim stochast random bayes infer learn neural deep kernel cluster classif regress segment
detect track recogn translat pars token embed attent transform recurr convol gradient descent entropy
inform signal nois filter sampl compress encod decod channel antenn radar sensor robot control feedback
stabil dynam kinet equilibr diffus transport flux entrop spin orbit lattic phonon magnon photon electron
proton neutron quark gluon hadron lepton boson fermion symmetr topolog manifold algebr geometr arithm
combinat prob statist sequenc align assembl genom transcript epigen phylogen popul species habitat forest
soil crop irrig urban traffic energ batter fuel solar wind grid market price risk portfolio auction game
equilibri agent social languag speech vision imag video audio music text document retriev rank search
queri index databas storag cach memor parallel distribut cloud edge secur privac crypt authent verif
comput program compil softwar hardwar circuit chip transistor laser fiber microscop tomograph imaging""".split()
SUFFIXES = """al ic ics ation ations ity ities ous ive ization ized ism ist ology ological ometry ography
ogenesis oscopy ance ence er ers ing ed ment ments ure ures""".split()
VENUES = ["Physical Review Letters", "Nature", "Science", "Journal of Machine Learning Research",
          "Proceedings of the National Academy of Sciences", "Advances in Neural Information Processing Systems",
          "International Conference on Machine Learning", "Annual Meeting of the Association for Computational Linguistics",
          "Journal of Chemical Physics", "Astrophysical Journal", "Bioinformatics", "IEEE Transactions on Signal Processing",
          "Communications in Mathematical Physics", "Cell", "Journal of Fluid Mechanics", "Ecology Letters"]
FIRST = "Anna Ben Carla David Eva Felix Grace Hugo Ines Jonas Kim Lena Marco Nina Oscar Paula Quentin Rosa Sven Tara Umar Vera Wei Xin Yuki Zoe".split()
LAST = """Smith Müller Garcia Rossi Nguyen Kim Ivanov Kowalski Dubois Jensen Silva Tanaka Chen Wang Li Zhang
Novak Schmidt Fischer Weber Meyer Wagner Becker Hoffmann Schulz Koch Richter Klein Wolf Neumann Schwarz Braun
Zimmermann Krüger Hartmann Lange Werner Krause Lehmann Köhler Maier Herrmann König Walter Huber Kaiser Fuchs
Peters Lang Scholz Möller Weiß Jung Hahn Vogel Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz""".split()


class Vocabulary:
    """A few thousand words and a seeded Zipf-like sampler over them."""

    def __init__(self, seed: int = 0) -> None:
        rng = random.Random(seed)
        science = sorted({r + s for r in ROOTS for s in SUFFIXES})
        rng.shuffle(science)
        self.words = COMMON + science[:4000]
        weights = [1.0 / (i + 2) ** 1.05 for i in range(len(self.words))]
        self._cum = []
        total = 0.0
        for w in weights:
            total += w
            self._cum.append(total)

    def sample(self, rng: random.Random, n: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self._cum, k=n)


def sentence(vocab: Vocabulary, rng: random.Random, lo: int = 8, hi: int = 25) -> str:
    words = vocab.sample(rng, rng.randint(lo, hi))
    return " ".join(words).capitalize() + "."


def entry_text(i: int, vocab: Vocabulary, rng: random.Random, salt: str = "") -> tuple[str, str]:
    """(key, bibtex) of entry ``i``: ~10-word title, 1-8 authors, venue, year, an abstract on ~80% of entries."""
    authors = " and ".join(f"{rng.choice(LAST)}, {rng.choice(FIRST)}" for _ in range(rng.randint(1, 8)))
    year = rng.randint(1970, 2025)
    title = " ".join(vocab.sample(rng, rng.randint(6, 14))).capitalize()
    key = f"{authors.split(',')[0].lower().replace('ü', 'u').replace('ö', 'o').replace('ß', 'ss')}{year}e{i}"
    fields = [f"  author = {{{authors}}}", f"  title = {{{title}{salt}}}", f"  year = {{{year}}}"]
    if rng.random() < 0.5:
        fields.append(f"  journal = {{{rng.choice(VENUES)}}}")
        fields.append(f"  volume = {{{rng.randint(1, 120)}}}")
        fields.append(f"  pages = {{{rng.randint(1, 900)}--{rng.randint(901, 999)}}}")
        kind = "article"
    else:
        fields.append(f"  booktitle = {{{rng.choice(VENUES)}}}")
        kind = "inproceedings"
    if rng.random() < 0.8:
        n = rng.randint(150, 250)
        words: list[str] = []
        while len(words) < n:
            words += sentence(vocab, rng).split()
        fields.append(f"  abstract = {{{' '.join(words[:n])}}}")
    if rng.random() < 0.3:
        fields.append(f"  doi = {{10.{rng.randint(1000, 9999)}/{rng.randint(10**5, 10**6)}}}")
    return key, f"@{kind}{{{key},\n" + ",\n".join(fields) + "\n}\n"


def make_bib(n: int, seed: int = 0) -> tuple[str, list[str]]:
    """Text of a ``n``-entry bib and its keys (same seed, same file)."""
    vocab = Vocabulary(seed)
    rng = random.Random(seed * 1_000_003 + n)
    keys, parts = [], []
    for i in range(n):
        key, text = entry_text(i, vocab, rng)
        keys.append(key)
        parts.append(text)
    return "\n".join(parts), keys


def paragraph(vocab: Vocabulary, rng: random.Random, sentences: int = 5) -> str:
    return " ".join(sentence(vocab, rng) for _ in range(sentences))
