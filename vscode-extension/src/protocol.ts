/**
 * The custom texcite LSP messages (the server implements the other side of this contract).
 *
 * Types only: no `vscode` import. The server's payloads are checked against these types by
 * tests/test_extension_protocol.py (field names and the state unions), so the two sides cannot drift.
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

/** Request `texcite/status` (params `{}`) and notification `texcite/status` (same shape, pushed on change). */
export const STATUS_METHOD = 'texcite/status';
export type RerankerState = 'off' | 'idle' | 'loading' | 'ready' | 'fallback';
export type RecallState = 'bm25' | 'hybrid';
export interface ServerStatus {
  /** What ranks right now, for people: "BM25", "BM25 + MiniLM", "BM25 + MiniLM → Qwen3-Reranker-4B (vllm-http at http://gpu:8000)". */
  ranking: string;
  /** What is loading now, '' when nothing: e.g. "MiniLM: embedding 32 entries", "reranker Qwen3-Reranker-4B". */
  loading: string;
  recall: RecallState;
  reranker: RerankerState;
  /** '' when no neural reranker is configured. */
  rerankerBackend: string;
  rerankerModel: string;
  message: string;
  indexedEntries: number;
  bibFiles: string[];
  lastLatencyMs: number | null;
}
