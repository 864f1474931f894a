/**
 * The custom texcite LSP messages (the server implements the other side of this contract).
 *
 * Types only: no `vscode` import.
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

/** Request `texcite/status` (no params) and notification `texcite/status` (same shape, pushed on change). */
export const STATUS_METHOD = 'texcite/status';

export type RerankerState = 'loading' | 'ready' | 'fallback' | 'off';

export interface ServerStatus {
  backend: string;
  model: string;
  state: RerankerState;
  message: string;
  indexedEntries: number;
  bibFiles: string[];
  lastLatencyMs: number | null;
}
