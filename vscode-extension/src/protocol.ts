/**
 * The custom texcite LSP messages (the server implements the other side of this contract).
 *
 * Types only: no `vscode` import. The server's payloads are checked against these types by
 * tests/test_extension_protocol.py (field names, the state unions and the status values' types), so the two sides
 * cannot drift.
 */

export interface LspPosition {
  line: number;
  character: number;
}

export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

/** Request `texcite/suggest`. */
export const SUGGEST_REQUEST = 'texcite/suggest';

export interface SuggestParams {
  textDocument: { uri: string };
  position: LspPosition;
}

export interface Suggestion {
  key: string;
  rank: number;
  score: number;
  /** 0-100 within this list: how likely this is the cited work relative to the best (which is 100). */
  relevance: number;
  /** Why it ranked, in words: "cited 4× in this project", "title matches 'distillation'". */
  reasons: string[];
  title: string;
  authors: string;
  year: string | number | null;
  venue: string;
  /** The library file it comes from (texcite.library.files): not in the project's bibliography yet; null otherwise. */
  library: string | null;
}

/** The citation command around the cursor: its keys and the range of the key list inside the braces. */
export interface CiteContext {
  keys: string[];
  range: LspRange;
}

export interface SuggestResult {
  query: string;
  suggestions: Suggestion[];
  cite: CiteContext | null;
}

/**
 * Request `texcite/status` (params `{}`) and notification `texcite/status` (same shape, pushed on change): what
 * ranks now and what is loading, as fields. The extension formats them (statusText.ts) and never parses `ranking`.
 */
export const STATUS_METHOD = 'texcite/status';
/** The dense model: off (recall mode bm25), on (configured and working), failed (BM25 ranks alone; see `message`). */
export type DenseState = 'off' | 'on' | 'failed';
/** The neural reranker: off (none configured), idle (loads on first use), loading, ready, fallback (ranking without it). */
export type RerankerState = 'off' | 'idle' | 'loading' | 'ready' | 'fallback';
/** What ranks now: BM25 alone, or hybrid (BM25 + the dense model) once the bibliography's embeddings exist. */
export type RecallState = 'bm25' | 'hybrid';
/** What the dense stage is doing: nothing (''), loading its model, or embedding the bibliography's entries. */
export type DenseLoading = '' | 'model' | 'embedding';
export interface ServerStatus {
  /** The dense model's state. */
  dense: DenseState;
  /** The dense model's short name ("MiniLM"); '' when `dense` is off. */
  denseModel: string;
  /** The neural reranker's state. */
  reranker: RerankerState;
  /** The neural reranker's backend ("vllm", "vllm-http", "transformers"); '' when no reranker is configured. */
  rerankerBackend: string;
  /** The reranker's model id or path ("Qwen/Qwen3-Reranker-4B"). */
  rerankerModel: string;
  /** The vllm-http server's URL, without credentials; '' for the other backends. */
  rerankerUrl: string;
  /** What ranks, in full, for people ("BM25 + MiniLM → Qwen3-Reranker-4B (vllm-http at http://gpu:8000)"): tooltips only. */
  ranking: string;
  /** What ranks now. */
  recall: RecallState;
  /** What the dense stage is loading now. */
  denseLoading: DenseLoading;
  /** Entries embedded so far, while `denseLoading` is embedding. */
  embedded: number;
  /** Entries to embed, while `denseLoading` is embedding. */
  toEmbed: number;
  /** Why something does not work as configured (the reranker's fallback, the dense model's failure), else ''. */
  message: string;
  /** Entries in the bibliographies indexed for the current document. */
  indexedEntries: number;
  /** Those bibliographies' paths. */
  bibFiles: string[];
  /** Milliseconds the last completion's ranking took; null before the first. */
  lastLatencyMs: number | null;
  /** Projects whose citations are being ranked to adapt the ranking to them: their lists' order changes when done. */
  adapting: number;
}
