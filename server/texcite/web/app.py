"""The page: its layout (a header with the project and the .bib upload, then the Suggest, Rerank, Compare and
Evaluate tabs), the endpoints' API names, and ``launch``, which serves it on this machine only by default.

Every handler is in ``handlers``; this module only places components and wires events. A click in the Suggest
text ranks at the clicked spot: a small script clicks the Suggest button, whose event reads the caret's offset
from the text area before the handler runs.
"""

from __future__ import annotations

import os
import sys

import gradio as gr

from texcite.settings import Settings
from texcite.web.evaluate import Evaluator
from texcite.web.examples import DESIGN_CANDIDATES, DESIGN_QUERY, first_citation
from texcite.web.handlers import RERANK_COLUMNS, SUGGEST_COLUMNS, Handlers
from texcite.web.ranking import MAX_EMBEDDING_WAITS, Rankers
from texcite.web.safety import MAX_UPLOAD_BYTES, MAX_UPLOAD_MB, tex_files
from texcite.web.sources import ProjectSources

# The caret's offset in code points (what Python counts), or -1 when the text area is missing.
_CARET_JS = """(file, text, cursor, bib, empty) => {
  const area = document.querySelector("#texcite-text textarea");
  const caret = area ? Array.from(area.value.slice(0, area.selectionStart)).length : -1;
  return [file, text, caret, bib, empty];
}"""
# A click that places the caret in the Suggest text (not a selection) ranks there.
_CLICK_SCRIPT = """<script>
document.addEventListener("mouseup", (event) => {
  const area = event.target.closest ? event.target.closest("#texcite-text textarea") : null;
  if (area && area.selectionStart === area.selectionEnd) {
    setTimeout(() => document.getElementById("texcite-suggest").click(), 0);
  }
});
</script>"""
# Requests served at once: two more ranking requests than may wait for an upload's embeddings (so two always move
# on), one evaluation; past QUEUE_SIZE waiting requests a visitor is told the page is busy.
RANKING_CONCURRENCY = MAX_EMBEDDING_WAITS + 2
EVALUATIONS = 1
QUEUE_SIZE = 64
_CSS = "#texcite-text textarea { font-family: var(--font-mono); font-size: 13px; }"
# Gradio's fonts are served by the page itself (nothing from the internet); the default theme's Source Sans Pro
# lacks a bold face, so bold text would be faked.
_THEME = gr.themes.Default(font=[gr.themes.LocalFont("IBM Plex Sans", weights=(400, 600, 700)), "ui-sans-serif",
                                 "system-ui", "sans-serif"])


def build(rankers: Rankers, evaluator: Evaluator | None) -> gr.Blocks:
    """The page's Blocks for these rankers (and evaluator, None without a project folder)."""
    handlers = Handlers(rankers, evaluator)
    project = rankers.project
    files = tex_files(project)
    example = first_citation(project, files, rankers.matcher)
    start_file = example.file if example else (files[0] if files else None)
    configured = rankers.label(rankers.configured)

    with gr.Blocks(title="texcite", analytics_enabled=False) as page:
        with gr.Row(equal_height=True):
            with gr.Column(scale=3):
                where = (f"Project folder **{os.path.basename(project)}** ({len(files)} .tex files)"
                         if project else "No project folder: upload a .bib to rank its entries.")
                gr.Markdown(f"## texcite — citations ranked for the paragraph you write\n\n{where}. "
                            f"Ranking: **{configured}**.", elem_id="texcite-header")
            with gr.Column(scale=2):
                bib = gr.File(label=f"Upload a .bib to rank its entries instead of the project's "
                                    f"(at most {MAX_UPLOAD_MB} MB; Suggest and Compare)",
                              file_types=[".bib"], type="filepath", height=110, elem_id="texcite-bib")

        with gr.Tabs():
            with gr.Tab("Suggest", id="suggest", elem_id="tab-suggest"):
                gr.Markdown("Choose a .tex file and **click inside the braces of a citation** in its text — or paste "
                            "a paragraph with a `[CITATION]` marker. The entries come back best first; click a row "
                            "for its `\\cite{key}`, and copy it with the button.")
                with gr.Row():
                    file = gr.Dropdown(files, value=start_file, label=".tex file of the project", scale=3,
                                       allow_custom_value=True, interactive=project is not None,
                                       elem_id="texcite-file")
                    as_if_empty = gr.Checkbox(True, label="Rank a filled citation as if it were empty "
                                                          "(its keys are marked ✓)", scale=2)
                text = gr.Textbox(handlers.tex_file(start_file) if start_file else "", lines=10, max_lines=20,
                                  label="Text", elem_id="texcite-text",
                                  placeholder="Paste a paragraph with a [CITATION] marker where the citation goes.")
                cursor = gr.Number(-1, precision=0, visible=False)
                suggest = gr.Button("Suggest at the cursor", variant="primary", elem_id="texcite-suggest")
                with gr.Row(equal_height=True):
                    with gr.Column(scale=2):
                        status = gr.Markdown(label="status", elem_id="texcite-status")
                    cite = gr.Textbox(label="cite", info="\\cite{key} of the chosen entry", buttons=["copy"],
                                      interactive=False, scale=1, elem_id="texcite-cite")
                problems = gr.Markdown(label="problems", elem_id="texcite-problems")
                table = gr.Dataframe(headers=SUGGEST_COLUMNS, label="suggestions", interactive=False, wrap=True,
                                     max_height=560, column_widths=["5%", "17%", "15%", "6%", "30%", "8%", "19%"],
                                     elem_id="texcite-table")
                with gr.Accordion("The query the ranker scored", open=False):
                    query = gr.Textbox(label="query", show_label=False, lines=4, interactive=False,
                                       elem_id="texcite-query")

            with gr.Tab("Rerank", id="rerank", elem_id="tab-rerank"):
                gr.Markdown("A query and candidate references, one per line (titles or abstracts, any language), "
                            f"reordered by the configured ranker (**{configured}**).")
                rerank_query = gr.Textbox(DESIGN_QUERY, label="Query", lines=2, elem_id="texcite-rerank-query")
                candidates = gr.Textbox("\n".join(DESIGN_CANDIDATES), label="Candidates, one per line", lines=6,
                                        elem_id="texcite-candidates")
                instruction = gr.Textbox(rankers.settings.reranker.instruction, lines=2,
                                         label="Instruction (read by a neural reranker)",
                                         elem_id="texcite-instruction")
                rerank = gr.Button("Rerank", variant="primary", elem_id="texcite-rerank")
                rerank_status = gr.Markdown(label="status", elem_id="texcite-rerank-status")
                rerank_table = gr.Dataframe(headers=RERANK_COLUMNS, label="ranking", interactive=False, wrap=True,
                                            column_widths=["8%", "12%", "80%"], elem_id="texcite-rerank-table")

            with gr.Tab("Compare", id="compare", elem_id="tab-compare"):
                gr.Markdown("The same paragraph ranked by each stage side by side — "
                            + ", ".join(f"**{rankers.label(s)}**" for s in rankers.engines)
                            + " — to see what each stage changes. Without a `[CITATION]` marker the text is a query "
                              "cited at its end. Ranked against the project's bibliography, or the uploaded .bib.")
                compare_query = gr.Textbox(example.paragraph if example else "", lines=6,
                                           label="Paragraph with a [CITATION] marker, or a query",
                                           elem_id="texcite-compare-query")
                expected = gr.Textbox(", ".join(example.keys) if example else "", elem_id="texcite-expected",
                                      label="Keys you expect there (comma-separated; marked ★)")
                compare = gr.Button("Compare", variant="primary", elem_id="texcite-compare")
                compare_status = gr.Markdown(label="status", elem_id="texcite-compare-status")
                compare_table = gr.Dataframe(label="rankings", interactive=False, wrap=True,
                                             elem_id="texcite-compare-table")
                compare_problems = gr.Markdown(label="problems")

            with gr.Tab("Evaluate", id="evaluate", elem_id="tab-evaluate"):
                gr.Markdown("`texcite eval` on the project: every resolvable citation is emptied in turn and ranked; "
                            "Recall@k is the share whose cited entry is in the top k, MRR the mean of 1/rank. "
                            "Bib order (what key-matching editors show) is the floor.")
                stages = gr.CheckboxGroup([(rankers.label(s), s) for s in rankers.engines],
                                          value=list(rankers.engines), label="Rankings",
                                          interactive=evaluator is not None, elem_id="texcite-stages")
                evaluate = gr.Button("Evaluate the project" if evaluator else "Evaluate needs a project folder",
                                     variant="primary", interactive=evaluator is not None,
                                     elem_id="texcite-evaluate")
                plot = gr.LinePlot(x="k", y="recall", color="ranking", title="Recall@k", x_title="k",
                                   y_title="Recall@k", x_lim=[1, 20], y_lim=[0, 1], x_axis_format="d",
                                   label="curves", elem_id="texcite-plot")
                report = gr.Markdown(label="report", elem_id="texcite-report")

        # Two queues: ranking requests (which take turns on the page's engines for short steps) and evaluations
        # (on engines of their own); neither waits for the other.
        ranking, at_once = "rank", RANKING_CONCURRENCY
        file.change(handlers.tex_file, file, text, api_name="tex_file", concurrency_id=ranking,
                    concurrency_limit=at_once)
        suggest.click(handlers.suggest, [file, text, cursor, bib, as_if_empty],
                      [status, table, cite, problems, query], js=_CARET_JS, api_name="suggest",
                      trigger_mode="always_last",  # a click during a ranking ranks again at the new spot
                      concurrency_id=ranking, concurrency_limit=at_once)
        table.select(handlers.choose, None, cite, api_visibility="private")
        rerank.click(handlers.rerank, [rerank_query, candidates, instruction], [rerank_status, rerank_table],
                     api_name="rerank", concurrency_id=ranking, concurrency_limit=at_once)
        compare.click(handlers.compare, [compare_query, expected, bib],
                      [compare_status, compare_table, compare_problems], api_name="compare",
                      concurrency_id=ranking, concurrency_limit=at_once)
        evaluate.click(handlers.evaluate, stages, [report, plot], api_name="evaluate", concurrency_id="evaluate",
                       concurrency_limit=EVALUATIONS)
    return page.queue(max_size=QUEUE_SIZE)


def launch(project: str | None, settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Serve the page on ``host:port`` until interrupted (no share link), then stop the engines."""
    rankers = Rankers(project, settings, ProjectSources(project))
    evaluator = Evaluator(rankers, project) if project else None
    try:
        rankers.warm()
        page = build(rankers, evaluator)
        try:
            page.launch(server_name=host, server_port=port, share=False, max_file_size=MAX_UPLOAD_BYTES,
                        show_error=True, footer_links=["api"], ssr_mode=False, mcp_server=False, pwa=False,
                        enable_monitoring=False, head=_CLICK_SCRIPT, css=_CSS, theme=_THEME)
        except OSError:
            print(f"texcite: error: cannot listen on {host}:{port} (the port is in use, or the address is not this "
                  "machine's); choose another --port or --host", file=sys.stderr)
            raise SystemExit(2) from None
    finally:
        rankers.close()
