"""`texcite web` as a script drives it: gradio_client against a live `texcite web` subprocess on a copy of the example
paper. Suggest puts the expected entry first (at a clicked spot, and for a pasted paragraph), Rerank orders the
design's example, Compare and Evaluate answer, a malformed .bib upload shows its problems and ranks what parsed, the
page refuses what it must not read (`..`, a symlink out of the project, an upload over the cap — in bytes or
entries — or not a .bib), and neither an evaluation nor an upload being embedded holds up another Suggest.

Without gradio installed the module is skipped on a developer machine and fails under CI=true.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

import webserver  # noqa: E402

if importlib.util.find_spec("gradio") is None or importlib.util.find_spec("gradio_client") is None:
    if webserver.in_ci():
        raise ImportError("gradio and gradio_client are needed (pip install -e '.[web,test]'); CI=true: not skipped")
    pytest.skip("needs the web extra and gradio_client: pip install -e '.[web,test]'", allow_module_level=True)

from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

SUGGEST_COLUMNS = ["rank", "key", "authors", "year", "title", "relevance", "why it ranked"]
# examples/paper/README.md, "Known answers": (file, 0-based line, character, expected first key)
KNOWN = [("chapters/method.tex", 8, 40, "nguyen2023distillation"),
         ("chapters/method.tex", 19, 55, "garcia2020hardnegatives"),
         ("chapters/intro.tex", 24, 19, "haddad2018citationgraph")]
DESIGN_QUERY = "一种基于Transformer架构的大语言模型预训练方法，支持多任务学习和零样本迁移"
DESIGN_CANDIDATES = ["Attention Is All You Need",
                     "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
                     "Language Models are Few-Shot Learners",
                     "A Survey on Retrieval-Augmented Generation"]
MALFORMED_BIB = webserver.BROKEN_BIB + "@misc{ = no key at all }\n"
DISTILLATION = ("The second stage must run on a laptop. We use knowledge distillation from a large teacher: "
                "following [CITATION] we train a compact student reranker on the teacher's soft score margins.")


def offset(text: str, line: int, character: int) -> int:
    """The character offset of an LSP position in an ASCII line."""
    return sum(len(x) + 1 for x in text.split("\n")[:line]) + character


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return webserver.make_project(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def server(project):
    live = webserver.WebServer(project, project.parent, "--reranker", "none")
    yield live
    assert live.stop() == 0, live.log()


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server.url, verbose=False)


def suggest(client: Client, file: str = "", text: str = "", cursor: int = -1, bib=None, as_if_empty: bool = True):
    status, table, cite, problems, query = client.predict(file=file, text=text, cursor=cursor, bib=bib,
                                                          as_if_empty=as_if_empty, api_name="/suggest")
    return status, table, cite, problems, query


def keys(table: dict) -> list[str]:
    return [row[1] for row in table["data"]]


def test_serves_this_machine_only_without_a_share_link(server):
    out = server.out.read_text()
    assert f"Running on local URL:  http://127.0.0.1:{server.port}" in out
    assert "public URL" not in out and "gradio.live" not in out


@pytest.mark.parametrize("file,line,character,expected", KNOWN)
def test_suggest_at_a_spot_puts_the_expected_entry_first(client, project, file, line, character, expected):
    text = (project / file).read_text(encoding="utf-8")
    status, table, cite, problems, query = suggest(client, file, text, offset(text, line, character))
    assert table["headers"] == SUGGEST_COLUMNS
    assert keys(table)[0] == expected, status
    assert cite == f"\\cite{{{expected}}}"
    top = table["data"][0]
    assert top[5] == 100 and top[6], "the best entry has the top relevance and says why it ranked"
    assert all(0 <= row[5] <= 100 for row in table["data"])
    assert "BM25 + MiniLM" in status and "refs.bib" in status and file in status
    assert "\\cite" not in query and problems == ""


def test_suggest_reads_the_file_when_no_text_is_given(client, project):
    text = (project / "chapters/method.tex").read_text(encoding="utf-8")
    _, table, _, _, _ = suggest(client, "chapters/method.tex", "", offset(text, 8, 40))
    assert keys(table)[0] == "nguyen2023distillation"
    assert client.predict(file="chapters/method.tex", api_name="/tex_file") == text


def test_a_filled_citation_is_ranked_as_if_empty_and_its_keys_are_marked(client, project):
    text = (project / "chapters/intro.tex").read_text(encoding="utf-8")
    spot = text.index("ahmed2019coldstart") + 3
    status, table, _, _, _ = suggest(client, "chapters/intro.tex", text, spot)
    assert "ahmed2019coldstart" in status
    marked = [row[1] for row in table["data"] if row[6].startswith("✓ cited here")]
    assert marked == ["ahmed2019coldstart"]
    _, typed, _, _, _ = suggest(client, "chapters/intro.tex", text, spot, as_if_empty=False)
    assert keys(typed)[0] == "ahmed2019coldstart", "without emptying, the typed 'ahm' filters as in an editor"


def test_a_pasted_paragraph_with_a_marker_ranks_the_project_bibliography(client):
    status, table, cite, problems, _ = suggest(client, text=DISTILLATION)
    assert keys(table)[0] == "nguyen2023distillation"
    assert cite == "\\cite{nguyen2023distillation}"
    # Without a \bibliography every .bib of the folder is indexed, except linked.bib, a symlink out of the project.
    assert "linked.bib: outside the project folder; not read." in problems
    assert webserver.SECRET_KEY not in keys(table)


def test_a_spot_outside_a_citation_says_where_to_click(client, project):
    text = (project / "chapters/method.tex").read_text(encoding="utf-8")
    status, table, cite, _, _ = suggest(client, "chapters/method.tex", text, offset(text, 3, 5))
    assert "Click inside the braces of a citation command" in status
    assert table["data"] == [] or table["data"] == [[""] * len(SUGGEST_COLUMNS)]
    assert cite == ""


def test_rerank_orders_the_design_example(client):
    status, table = client.predict(query=DESIGN_QUERY, candidates="\n".join(DESIGN_CANDIDATES), instruction="",
                                   api_name="/rerank")
    assert table["headers"] == ["rank", "score", "candidate"]
    assert [row[0] for row in table["data"]] == [1, 2, 3, 4]
    assert sorted(row[2] for row in table["data"]) == sorted(DESIGN_CANDIDATES)
    scores = [row[1] for row in table["data"]]
    assert scores == sorted(scores, reverse=True)
    assert table["data"][0][2].startswith("BERT"), "the one title about pre-training Transformers"
    assert status.startswith("Ranked by **BM25 + MiniLM**.") and "neural reranker only" in status


def test_a_malformed_upload_shows_its_problems_and_ranks_the_entries_that_parsed(client, tmp_path):
    bib = tmp_path / "broken.bib"
    bib.write_text(MALFORMED_BIB, encoding="utf-8")
    status, table, cite, problems, _ = suggest(client, text=DISTILLATION, bib=handle_file(str(bib)))
    assert sorted(keys(table)) == ["kim2019graphs", "lee2020distill"], "only the upload's entries that parsed"
    assert keys(table)[0] == "lee2020distill" and cite == "\\cite{lee2020distill}"
    assert "2 entries of broken.bib" in status
    assert "broken.bib:6: Malformed entry" in problems and "broken.bib:14: Malformed entry" in problems
    # The project's files with an upload: the upload replaces the project's bibliography.
    text = client.predict(file="chapters/method.tex", api_name="/tex_file")
    _, table, _, _, _ = suggest(client, "chapters/method.tex", text, offset(text, 8, 40), handle_file(str(bib)))
    assert keys(table)[0] == "lee2020distill"


@pytest.mark.parametrize("file,why", [("../secret/notes.tex", "only files inside the project folder"),
                                      ("/etc/hostname", "only files inside the project folder"),
                                      ("linked.tex", "leads out of the project folder"),
                                      ("refs.bib", "not a .tex file")])
def test_paths_out_of_the_project_are_refused(client, file, why):
    with pytest.raises(AppError, match=why):
        suggest(client, file, "", 0)
    with pytest.raises(AppError, match=why):
        client.predict(file=file, api_name="/tex_file")


def test_the_file_list_offers_the_project_tex_files_only(client):
    choices = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/tex_file"]
    offered = choices["parameters"][0]["python_type"]["type"]
    assert "chapters/method.tex" in offered and "main.tex" in offered
    assert "linked.tex" not in offered and "refs.bib" not in offered


def test_uploads_over_the_cap_or_not_a_bib_are_refused(client, server, tmp_path):
    import httpx

    big = tmp_path / "huge.bib"
    big.write_bytes(b"% padding\n" * ((20 << 20) // 10 + 1))
    with pytest.raises(ValueError, match="exceeds the maximum file size"):  # the client checks first
        suggest(client, text=DISTILLATION, bib=handle_file(str(big)))
    with open(big, "rb") as fh:  # and the server refuses it anyway
        answer = httpx.post(server.url + "gradio_api/upload", files={"files": ("huge.bib", fh)}, timeout=60)
    assert answer.status_code == 413 and "maximum allowed size" in answer.text
    text = tmp_path / "notes.txt"
    text.write_text("@article{a, title={A}}", encoding="utf-8")
    with pytest.raises(AppError, match=r"\.bib"):
        suggest(client, text=DISTILLATION, bib=handle_file(str(text)))


def test_compare_shows_each_stage_side_by_side(client):
    status, table, problems = client.predict(query=DISTILLATION, expected="nguyen2023distillation", bib=None,
                                             api_name="/compare")
    assert table["headers"] == ["rank", "BM25", "BM25 + MiniLM"]
    first = table["data"][0]
    assert first[1].startswith("★ nguyen2023distillation") and first[2].startswith("★ nguyen2023distillation")
    assert "★ `nguyen2023distillation`: #1 in BM25, #1 in BM25 + MiniLM." in status


def test_evaluate_reports_recall_and_a_curve(client):
    report, curve = client.predict(stages=["bm25", "hybrid"], api_name="/evaluate")
    assert "### BM25\n" in report and "### BM25 + MiniLM\n" in report
    assert "| paper | english | 32 | 12 |" in report and "| english | 1 | 12 |" in report and "bib order (floor)" in report
    rankings = {row[2] for row in curve["data"]}
    assert rankings == {"BM25", "BM25 + MiniLM", "bib order (floor)"}
    assert all(0.0 <= row[1] <= 1.0 for row in curve["data"])
    # The evaluation borrowed the page's engines: requests afterwards rank as before.
    text = client.predict(file="chapters/method.tex", api_name="/tex_file")
    _, table, _, _, _ = suggest(client, "chapters/method.tex", text, offset(text, 8, 40))
    assert keys(table)[0] == "nguyen2023distillation" and len(keys(table)) == 32


def test_with_a_neural_reranker_every_stage_shows(tmp_path, project):
    """`--reranker transformers` on the tiny random Qwen3 of tests/rerank: Compare gets the reranker's column and
    Rerank reads the instruction field."""
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        pytest.skip("needs torch + transformers: pip install 'texcite[transformers]'")
    model = tmp_path / "tiny-qwen3"
    build = subprocess.run([sys.executable, str(webserver.REPO / "tests" / "rerank" / "tiny_qwen3.py"), str(model)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    live = webserver.WebServer(project, tmp_path, "--reranker", "transformers", "--model", str(model))
    try:
        client = Client(live.url, verbose=False)
        status, table, _ = client.predict(query=DISTILLATION, expected="nguyen2023distillation", bib=None,
                                          api_name="/compare")
        assert table["headers"][:3] == ["rank", "BM25", "BM25 + MiniLM"] and len(table["headers"]) == 4
        assert "tiny-qwen3 (transformers)" in table["headers"][3]
        candidates = "\n".join(DESIGN_CANDIDATES)
        status, configured = client.predict(query=DESIGN_QUERY, candidates=candidates, instruction="",
                                            api_name="/rerank")
        assert "Ranked by **BM25 + MiniLM → tiny-qwen3 (transformers)**." == status
        _, other = client.predict(query=DESIGN_QUERY, candidates=candidates,
                                  instruction="Judge whether the title is about retrieval", api_name="/rerank")
        assert sorted(r[2] for r in other["data"]) == sorted(DESIGN_CANDIDATES)
        assert [r[1] for r in other["data"]] != [r[1] for r in configured["data"]], "the instruction is read"
    finally:
        assert live.stop() == 0, live.log()


def test_the_documented_api_example_runs(server):
    """docs/web.md's gradio_client example, verbatim but for the port, from the repository's top folder."""
    docs = (webserver.REPO / "docs" / "web.md").read_text(encoding="utf-8")
    block = re.search(r"<!--\s*test:\s*api-example\s*-->\s*\n```python\n(.*?)\n```", docs, re.S)
    assert block, "docs/web.md has no code block marked <!-- test: api-example -->"
    code = block.group(1).replace("http://127.0.0.1:7860/", server.url)
    assert code != block.group(1)
    run = subprocess.run([sys.executable, "-c", code], cwd=webserver.REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "\n\\cite{nguyen2023distillation}\n1 nguyen2023distillation 100 " in run.stdout
    assert "### BM25 + MiniLM" in run.stdout


def test_without_a_project_a_bibliography_is_asked_for(tmp_path):
    bare = webserver.WebServer(None, tmp_path, "--recall", "bm25", "--reranker", "none")
    try:
        client = Client(bare.url, verbose=False)
        with pytest.raises(AppError, match="A bibliography is needed: upload a .bib"):
            suggest(client, text=DISTILLATION)
        with pytest.raises(AppError, match="no project folder"):
            suggest(client, "main.tex", "", 0)
        with pytest.raises(AppError, match="Evaluate needs a project folder"):
            client.predict(stages=["bm25"], api_name="/evaluate")
        bib = tmp_path / "mine.bib"
        bib.write_text(MALFORMED_BIB, encoding="utf-8")
        status, _, cite, problems, _ = suggest(client, text=DISTILLATION, bib=handle_file(str(bib)))
        assert cite == "\\cite{lee2020distill}" and "**BM25** ranked 2 entries of mine.bib" in status
        assert "mine.bib:6: Malformed entry" in problems
    finally:
        assert bare.stop() == 0, bare.log()


def test_library_entries_are_ranked_and_marked(tmp_path, project):
    library = tmp_path / "library.json"
    library.write_text(json.dumps([{
        "id": "hinton2015distilling", "type": "article-journal", "issued": {"date-parts": [[2015]]},
        "title": "Distilling the knowledge of a large teacher reranker into a compact student",
        "author": [{"family": "Hinton", "given": "Geoffrey"}]}, {"title": "An item without an id"}]), encoding="utf-8")
    live = webserver.WebServer(project, tmp_path, "--recall", "bm25", "--reranker", "none", "--library", str(library))
    try:
        _, table, _, problems, _ = suggest(Client(live.url, verbose=False), text=DISTILLATION)
        rows = {row[1]: row[6] for row in table["data"]}
        assert rows["hinton2015distilling"].startswith("library (library.json): not in the project's .bib yet")
        assert not rows["nguyen2023distillation"].startswith("library")
        assert f"- library {library}: Item 2 skipped: it has no id or citation-key" in problems.splitlines()
    finally:
        assert live.stop() == 0, live.log()


def generated_bib(path: Path, entries: int) -> Path:
    """A .bib of ``entries`` short entries with titles no cache has seen."""
    salt = uuid.uuid4().hex[:8]
    path.write_text("".join(f"@misc{{gen{i}, title={{Generated title {salt} number {i}}}, year={{2001}}}}\n"
                            for i in range(entries)), encoding="utf-8")
    return path


def wait_for_progress(job, words: str) -> None:
    """Until the job reports progress whose description holds ``words`` (polling: gradio_client offers no event
    for a job's status)."""
    deadline = time.monotonic() + webserver.START_TIMEOUT_S
    while not any(words in (unit.desc or "") for unit in job.status().progress_data or []):
        assert not job.done(), f"the job ended without reporting {words!r}: {job.result()}"
        assert time.monotonic() < deadline, f"no progress {words!r} reported"
        time.sleep(0.05)


def test_an_upload_with_too_many_entries_is_refused_before_it_is_ranked(client, tmp_path):
    bib = generated_bib(tmp_path / "many.bib", 20_001)
    with pytest.raises(AppError, match="many.bib holds 20,001 entries, over the 20,000 an uploaded .bib may hold"):
        suggest(client, text=DISTILLATION, bib=handle_file(str(bib)))


def test_a_suggest_is_answered_while_an_evaluation_runs(client, project):
    evaluation = client.submit(stages=["bm25", "hybrid"], api_name="/evaluate")
    wait_for_progress(evaluation, "citation")
    text = (project / "chapters/method.tex").read_text(encoding="utf-8")
    _, table, _, _, _ = suggest(client, "chapters/method.tex", text, offset(text, 8, 40))
    assert keys(table)[0] == "nguyen2023distillation"
    assert not evaluation.done(), "the Suggest waited for the evaluation"
    report, _ = evaluation.result()
    assert "| paper | english | 32 | 12 |" in report


def test_an_upload_being_embedded_holds_up_no_other_suggest_and_shows_its_progress(client, project, tmp_path):
    bib = generated_bib(tmp_path / "big.bib", 1_500)
    upload = client.submit(file="", text=DISTILLATION, cursor=-1, bib=handle_file(str(bib)), as_if_empty=True,
                           api_name="/suggest")
    wait_for_progress(upload, "embedding entry")
    _, table, _, _, _ = suggest(client, text=DISTILLATION)  # the project's bibliography, meanwhile
    assert keys(table)[0] == "nguyen2023distillation"
    assert not upload.done(), "the Suggest waited for the upload's embeddings"
    status, table, _, _, _ = upload.result()
    assert "ranked 1500 entries of big.bib" in status and keys(table)[0].startswith("gen")
