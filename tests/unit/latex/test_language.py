"""The language of a document: what its preamble declares (babel, polyglossia), else what its prose reads as."""

from __future__ import annotations

import pytest

from texcite.latex.language import ProjectLanguages, declared_language

ENGLISH = r"""
\section{Introduction}
Citation recommendation is the task of suggesting the works that an author should cite at a given place in the
text. It has been studied for many years, and most of the systems that were proposed rank the candidates by their
similarity to the context of the citation \cite{he2010}. In this chapter we describe the data that we used, the
models that we trained and the results that were obtained on the test set, which is larger than the one of the
previous work \citep[see][p.~4]{ebesu2017}. The equation $f(x) = \sum_i w_i x_i$ is the linear model.
"""
SPANISH = r"""
\section{Introducción}
La recomendación de citas es la tarea de sugerir los trabajos que un autor debería citar en un lugar del texto.
Se ha estudiado durante muchos años, y la mayoría de los sistemas que se propusieron ordenan a los candidatos por
su similitud con el contexto de la cita \cite{he2010}. En este capítulo describimos los datos que usamos, los
modelos que entrenamos y los resultados que se obtuvieron en el conjunto de prueba, que es más grande que el del
trabajo anterior \citep[véase][p.~4]{ebesu2017}. La ecuaci\'on $f(x) = \sum_i w_i x_i$ es el modelo lineal.
"""
GERMAN = r"""
\section{Einleitung}
Die Empfehlung von Zitaten ist die Aufgabe, die Arbeiten vorzuschlagen, die ein Autor an einer Stelle des Textes
zitieren sollte. Sie wird seit vielen Jahren untersucht, und die meisten der vorgeschlagenen Systeme ordnen die
Kandidaten nach ihrer Ähnlichkeit mit dem Kontext des Zitats \cite{he2010}. In diesem Kapitel beschreiben wir
die Daten, die wir verwendet haben, und die Ergebnisse, die auf der Testmenge erzielt wurden, die größer ist als
die der früheren Arbeit \citep{ebesu2017}.
"""
RUSSIAN = r"""
\section{Введение}
Рекомендация цитат — это задача предложить работы, которые автор должен процитировать в данном месте текста.
Она изучается много лет, и большинство предложенных систем ранжируют кандидатов по их сходству с контекстом
цитаты \cite{he2010}. В этой главе мы описываем данные, которые мы использовали, и результаты, полученные на
тестовом множестве \citep{ebesu2017}.
"""
UKRAINIAN = r"""
Рекомендація цитат — це завдання запропонувати роботи, які автор має процитувати в певному місці тексту. Її
вивчають багато років, і більшість запропонованих систем ранжують кандидатів за їхньою схожістю з контекстом
цитати \cite{he2010}. У цьому розділі ми описуємо дані, які ми використали, і результати, отримані на тестовій
множині \citep{ebesu2017}.
"""
CHINESE = r"""
\section{引言}
引文推荐是在文本的特定位置为作者推荐应当引用的文献的任务。这个问题已经被研究了很多年，大多数已有的系统根据候选文献
与引用上下文的相似度对其进行排序\cite{he2010}。在本章中，我们描述了所使用的数据、训练的模型以及在测试集上得到的结果，
该测试集比以往工作中使用的更大\citep{ebesu2017}。
"""
JAPANESE = r"""
引用推薦とは、文章の特定の位置で著者が引用すべき文献を推薦するタスクである。この問題は長年研究されており、
提案されたシステムの多くは候補文献を引用文脈との類似度によって順位付けしている\cite{he2010}。本章では、使用した
データと学習したモデル、そしてテストセットで得られた結果について述べる。
"""
# A Spanish thesis citing English works: English keys, English titles in the text, an English bibliography item.
SPANISH_CITING_ENGLISH = SPANISH + r"""
Como muestran \citet{attention_is_all_you_need_for_the_analysis_of_the_data}, el artículo
\emph{Attention is all you need} y el trabajo \textit{Deep learning for the analysis of the structure of
proteins with the help of graphs} \cite{the_role_of_the_data_in_the_training_of_the_models,on_the_use_of_it}
proponen modelos que se entrenan con los datos de la web.
\begin{thebibliography}{9}
\bibitem{vaswani} A. Vaswani et al. Attention is all you need. In Advances in Neural Information Processing
Systems, 2017.
\end{thebibliography}
"""


@pytest.mark.parametrize("preamble, language", [
    (r"\usepackage[spanish]{babel}", "spanish"),
    (r"\usepackage[english,main=spanish]{babel}", "spanish"),
    (r"\usepackage[main = ngerman, english]{babel}", "german"),
    (r"\usepackage[spanish,english]{babel}", "english"),  # the last language is babel's main one
    (r"\usepackage[english,shorthands=off,activeacute,es-noshorthands,spanish]{babel}", "spanish"),
    (r"\usepackage[brazil]{babel}", "portuguese"),
    (r"\usepackage[UKenglish]{babel}", "english"),
    (r"\usepackage[T1]{fontenc}\usepackage[utf8]{inputenc}\usepackage[francais]{babel}", "french"),
    ("\\usepackage[\n  english,\n  russian\n]{babel}", "russian"),
    (r"\usepackage[ukrainian]{babel}", "ukrainian"),
    (r"\usepackage{babel}\babelprovide[import, main]{chinese}", "chinese"),
    (r"\usepackage[english]{babel}\babelprovide[main,import]{japanese}", "japanese"),
    (r"\usepackage{polyglossia}\setdefaultlanguage[variant=american]{english}\setotherlanguage{french}",
     "english"),
    (r"\usepackage{polyglossia}\setmainlanguage{italian}", "italian"),
    (r"\usepackage{babel}", None),
    (r"\usepackage{amsmath}", None),
])
def test_a_preamble_declares_its_main_language(preamble, language):
    text = "\\documentclass{article}\n" + preamble + "\n\\begin{document}\nText.\n\\end{document}\n"
    assert declared_language(text) == language


def test_class_options_count_when_babel_loads():
    assert declared_language("\\documentclass[12pt,spanish]{book}\n\\usepackage{babel}\n") == "spanish"
    assert declared_language("\\documentclass[english]{book}\n\\usepackage[ngerman]{babel}\n") == "german"
    assert declared_language("\\documentclass[spanish]{book}\n\\usepackage{amsmath}\n") is None


def test_comments_and_the_body_declare_nothing():
    text = ("\\documentclass{article}\n% \\usepackage[spanish]{babel}\n\\usepackage[english]{babel} % was dutch\n"
            "\\begin{document}\n\\usepackage[german]{babel}\n\\end{document}\n")
    assert declared_language(text) == "english"
    assert declared_language("% \\usepackage[spanish]{babel}\n\\usepackage{polyglossia}\n") is None


def detected(text: str) -> str:
    """The language a one-file document without a declaration reads as."""
    return ProjectLanguages().language("/p/doc.tex", [("/p/doc.tex", text)])


@pytest.mark.parametrize("text, language", [
    (ENGLISH, "english"), (SPANISH, "spanish"), (GERMAN, "german"), (RUSSIAN, "russian"),
    (UKRAINIAN, "ukrainian"), (CHINESE, "chinese"), (JAPANESE, "japanese"),
    (SPANISH_CITING_ENGLISH, "spanish"),
])
def test_prose_reads_as_its_language(text, language):
    assert detected(text) == language


def test_short_texts_are_unknown():
    assert detected("") == "unknown"
    assert detected("Hello world, this is a test \\cite{a}.") == "unknown"
    assert detected(r"\begin{equation} x = y + \alpha \end{equation} $a + b$ \ref{fig:one}") == "unknown"


def test_math_and_code_are_not_prose():
    # a file's whole text within the sample the engine reads of each file (FILE_SAMPLE)
    code = "\\begin{lstlisting}\n" + "the of and to in is that for it as with was on be\n" * 12 + "\\end{lstlisting}\n"
    math = "$" + " the of and to in is that for " * 12 + "$\n"
    assert len(SPANISH + code + math) < ProjectLanguages.FILE_SAMPLE
    assert detected(SPANISH + code + math) == "spanish"
    assert detected("Text: " + code + math) == "unknown"


def test_a_long_document_is_sampled_across_its_length():
    """An English abstract up front does not make a Spanish thesis English: the sample spans the whole text."""
    text = "\\begin{document}\n" + ENGLISH * 80 + SPANISH * 400
    assert len(text) > 100_000
    assert detected(text) == "spanish"


def test_the_root_declaration_comes_first():
    root = "\\documentclass{book}\n\\usepackage[spanish]{babel}\n\\begin{document}\n\\input{intro}\n"
    languages = ProjectLanguages()
    assert languages.language("/p/main.tex", [("/p/main.tex", root), ("/p/intro.tex", ENGLISH * 20)]) == "spanish"
    head = "\\documentclass{book}\n"  # no \\begin{document} in the root: its files declare
    assert languages.language("/p/main.tex", [("/p/main.tex", head),
                                              ("/p/body.tex", "\\usepackage[german]{babel}\n" + ENGLISH * 20)]) == "german"
    assert languages.language("/p/main.tex", [("/p/main.tex", head), ("/p/body.tex", ENGLISH * 20)]) == "english"


def test_a_project_state_has_one_language_whatever_was_asked_before():
    root = "\\documentclass{book}\n\\begin{document}\n\\input{intro}\n\\end{document}\n"
    english = [("/p/main.tex", root), ("/p/intro.tex", "\\begin{document}\n" + ENGLISH * 20)]
    spanish = [("/p/main.tex", root), ("/p/intro.tex", "\\begin{document}\n" + SPANISH * 20)]
    declared = [("/p/main.tex", root.replace("{book}\n", "{book}\n\\usepackage[ngerman]{babel}\n")), english[1]]
    fresh = ProjectLanguages()
    assert [fresh.language("/p/main.tex", s) for s in (spanish, english, declared)] == ["spanish", "english", "german"]
    used = ProjectLanguages()
    for state in (declared, english, spanish, english, declared):
        used.language("/p/main.tex", state)
    assert [used.language("/p/main.tex", s) for s in (spanish, english, declared)] == ["spanish", "english", "german"]


def test_a_language_declared_in_a_file_the_preamble_reads_is_the_document_s():
    """\\input{preamble} loads babel (a real German master thesis): a first draft of a few words is German, not
    unknown; a chapter's declaration (a quoted document, a standalone figure) is not the document's."""
    root = "\\documentclass{scrartcl}\n\\input{setup/preamble}\n\\begin{document}\n\\input{chapters/intro}\n\\end{document}\n"
    preamble = "\\usepackage[utf8]{inputenc}\n\\usepackage{mythesis}\n"
    package = "\\RequirePackage[ngerman]{babel,varioref}\n"
    draft = "Das ist neu \\cite{}."
    languages = ProjectLanguages()
    state = [("/p/main.tex", root), ("/p/setup/preamble.tex", preamble), ("/p/mythesis.sty", package),
             ("/p/chapters/intro.tex", draft)]
    assert languages.language("/p/main.tex", state) == "german"
    assert languages.language("/p/main.tex", [*state[:2], state[3]]) == "unknown"  # without the package
    chapter = "\\documentclass[french]{standalone}\n\\usepackage[french]{babel}\n" + draft
    assert languages.language("/p/main.tex", [state[0], ("/p/chapters/intro.tex", chapter)]) == "unknown"


def test_a_class_that_loads_babel_itself_sets_the_main_language():
    """A thesis class loads babel with [dutch,USenglish] (US English main); the root's later
    \\usepackage[dutch]{babel} changes nothing in LaTeX, so the document is English (a real chemistry thesis)."""
    root = "\\documentclass{main/thesis}\n\\usepackage[dutch]{babel}\n\\begin{document}\n\\end{document}\n"
    thesis_cls = "\\LoadClass{book}\n\\RequirePackage[dutch,USenglish]{babel}\n"
    languages = ProjectLanguages()
    assert languages.language("/p/thesis.tex", [("/p/thesis.tex", root), ("/p/main/thesis.cls", thesis_cls)]) == "english"
    plain_cls = "\\LoadClass{book}\n"
    assert languages.language("/p/thesis.tex", [("/p/thesis.tex", root), ("/p/main/thesis.cls", plain_cls)]) == "dutch"


def test_a_short_document_in_a_class_given_a_language_is_in_that_language():
    """abntex2 loads babel with the class's options: a new Brazilian document of a few words is Portuguese; a long
    one is what its prose reads as, and a declaration still comes first."""
    root = "\\documentclass[12pt,english,brazil]{abntex2}\n\\begin{document}\n\\input{intro}\n\\end{document}\n"
    languages = ProjectLanguages()
    assert languages.language("/p/main.tex", [("/p/main.tex", root), ("/p/intro.tex", "Texto novo \\cite{}.")]) == \
        "portuguese"
    assert languages.language("/p/main.tex", [("/p/main.tex", root), ("/p/intro.tex", SPANISH * 20)]) == "spanish"
    plain = root.replace("[12pt,english,brazil]", "[12pt]")
    assert languages.language("/p/main.tex", [("/p/main.tex", plain), ("/p/intro.tex", "Texto novo.")]) == "unknown"
