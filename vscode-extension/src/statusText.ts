/**
 * What the status bar item, its tooltip and the status QuickPick say, formatted from the fields of the server's
 * `texcite/status` (never parsed from its prose).
 *
 * Pure: no `vscode` import (status.ts puts these words on screen).
 */
import type { DenseLoading, DenseState, RecallState, RerankerState, ServerStatus } from './protocol';

/** What the extension knows before (or instead of) a status from the server. */
export type ClientState = 'starting' | 'running' | 'stopped' | 'not-installed';

export interface StatusBarLook {
  text: string;
  tooltip: string;
  /** Theme color id for the background, if any. */
  background?: 'statusBarItem.warningBackground' | 'statusBarItem.errorBackground';
}

const DENSE_STATES: readonly DenseState[] = ['off', 'on', 'failed'];
const RERANKER_STATES: readonly RerankerState[] = ['off', 'idle', 'loading', 'ready', 'fallback'];
const RECALL_STATES: readonly RecallState[] = ['bm25', 'hybrid'];
const DENSE_LOADING: readonly DenseLoading[] = ['', 'model', 'embedding'];
/** The reranker's state, for people. */
const RERANKER_STATE_TEXT: Record<RerankerState, string> = {
  off: 'off',
  idle: 'loads on first use',
  loading: 'loading',
  ready: 'ready',
  fallback: 'failed; ranking without it',
};
/** Most .bib files the tooltip lists (the QuickPick lists them all). */
const TOOLTIP_FILES = 8;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0);
const oneOf = <T extends string>(v: unknown, allowed: readonly T[]): T =>
  allowed.includes(v as T) ? (v as T) : allowed[0];

/**
 * The payload of `texcite/status` as a ServerStatus, or undefined when it is not a status (not an object with a
 * `recall` field). Missing or invalid fields get neutral values (nothing loading, no reranker, no dense model).
 */
export function toServerStatus(value: unknown): ServerStatus | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return undefined;
  }
  const v = value as Record<string, unknown>;
  if (typeof v.recall !== 'string') {
    return undefined;
  }
  const dense = oneOf(v.dense, DENSE_STATES);
  const rerankerBackend = str(v.rerankerBackend);
  const denseLoading = oneOf(v.denseLoading, DENSE_LOADING);
  return {
    dense,
    denseModel: dense === 'off' ? '' : str(v.denseModel),
    reranker: rerankerBackend ? oneOf(v.reranker, RERANKER_STATES) : 'off',
    rerankerBackend,
    rerankerModel: rerankerBackend ? str(v.rerankerModel) : '',
    rerankerUrl: rerankerBackend ? str(v.rerankerUrl) : '',
    ranking: str(v.ranking),
    recall: oneOf(v.recall, RECALL_STATES),
    denseLoading,
    embedded: denseLoading === 'embedding' ? count(v.embedded) : 0,
    toEmbed: denseLoading === 'embedding' ? count(v.toEmbed) : 0,
    message: str(v.message),
    indexedEntries: count(v.indexedEntries),
    bibFiles: Array.isArray(v.bibFiles) ? v.bibFiles.filter((f): f is string => typeof f === 'string') : [],
    lastLatencyMs: typeof v.lastLatencyMs === 'number' && Number.isFinite(v.lastLatencyMs) ? v.lastLatencyMs : null,
    adapting: count(v.adapting),
  };
}

/** A reranker model id or path, short enough for the status bar: `Qwen/Qwen3-Reranker-4B` -> `Qwen3`. */
export function shortModelName(model: string): string {
  const base = model.trim().replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? '';
  const name = base.replace(/[-_. ]?re-?rank(er)?\b.*$/i, '') || base || 'reranker';
  return name.length > 24 ? `${name.slice(0, 23)}…` : name;
}

/** The dense model's name as shown ("MiniLM"). */
function denseName(status: ServerStatus): string {
  return status.denseModel || 'the dense model';
}

/** Does the reranker take part in ranking (ready, or loading on first use)? */
function rerankerRanks(status: ServerStatus): boolean {
  return status.rerankerBackend !== '' && (status.reranker === 'ready' || status.reranker === 'idle');
}

/** Something loads now (the dense model, the bibliography's embeddings, the reranker). */
interface Loading {
  /** For the status bar: "loading MiniLM", "MiniLM 120/224 entries", "loading Qwen3". */
  label: string;
  /** For the tooltip and the QuickPick. */
  line: string;
}

function loadings(status: ServerStatus): Loading[] {
  const found: Loading[] = [];
  const dense = denseName(status);
  if (status.denseLoading === 'embedding' && status.toEmbed > 0) {
    found.push({
      label: `${dense} ${status.embedded}/${status.toEmbed} entries`,
      line: `Embedding the bibliography with ${dense}: ${status.embedded} of ${status.toEmbed} entries (BM25 ranks meanwhile)`,
    });
  } else if (status.denseLoading !== '') {
    found.push({ label: `loading ${dense}`, line: `Loading ${dense} (BM25 ranks meanwhile)` });
  }
  if (status.adapting > 0) {
    found.push({ label: 'learning this project', line: "Learning from this project's citations (the order changes when done)" });
  }
  if (status.rerankerBackend && status.reranker === 'loading') {
    const model = status.rerankerModel || 'the reranker';
    found.push({ label: `loading ${shortModelName(status.rerankerModel)}`, line: `Loading ${model}` });
  }
  return found;
}

/** What ranks now, short: "BM25", "BM25 + MiniLM", "BM25 + MiniLM → Qwen3". */
export function rankingLabel(status: ServerStatus): string {
  const recall = status.recall === 'hybrid' ? `BM25 + ${denseName(status)}` : 'BM25';
  return rerankerRanks(status) ? `${recall} → ${shortModelName(status.rerankerModel)}` : recall;
}

/** Is a configured stage not working (the reranker fell back, the dense model failed)? */
function degraded(status: ServerStatus): boolean {
  return status.reranker === 'fallback' || status.dense === 'failed';
}

/** The status bar item for a client state and the latest server status (if any). */
export function statusBarLook(client: ClientState, status: ServerStatus | undefined): StatusBarLook {
  if (client === 'not-installed') {
    return {
      text: '$(error) texcite: not installed',
      tooltip: 'The texcite language server is not installed or not found. Click for details.',
      background: 'statusBarItem.errorBackground',
    };
  }
  if (client === 'stopped') {
    return {
      text: '$(error) texcite: stopped',
      tooltip: 'The texcite language server is not running. Click for details; run "texcite: Restart Server" to start it.',
      background: 'statusBarItem.errorBackground',
    };
  }
  if (client === 'starting' || status === undefined) {
    return { text: '$(sync~spin) texcite: starting', tooltip: 'Starting the texcite language server…' };
  }
  const loading = loadings(status).map((l) => l.label);
  const icon = loading.length ? '$(sync~spin)' : degraded(status) ? '$(warning)' : '$(book)';
  const look: StatusBarLook = {
    text: `${icon} texcite: ${rankingLabel(status)}${loading.length ? ` (${loading.join(', ')})` : ''}`,
    tooltip: tooltipLines(status).join('\n'),
  };
  if (degraded(status)) {
    look.background = 'statusBarItem.warningBackground';
  }
  return look;
}

/** Human-readable lines describing the server status (the tooltip and the status QuickPick, before the .bib files). */
export function statusLines(status: ServerStatus): string[] {
  const lines = [`Ranking: ${status.ranking || rankingLabel(status)}`];
  lines.push(...loadings(status).map((l) => l.line));
  if (status.dense === 'failed') {
    lines.push(`Dense model: ${denseName(status)} failed; BM25 ranks alone`);
  }
  if (status.rerankerBackend) {
    const model = status.rerankerModel ? `${status.rerankerModel} ` : '';
    const where = status.rerankerUrl ? ` at ${status.rerankerUrl}` : '';
    lines.push(`Reranker: ${model}via ${status.rerankerBackend}${where} (${RERANKER_STATE_TEXT[status.reranker]})`);
  }
  if (status.message) {
    lines.push(status.message);
  }
  const files = status.bibFiles;
  lines.push(`Indexed entries: ${status.indexedEntries} from ${files.length} .bib file${files.length === 1 ? '' : 's'}`);
  if (typeof status.lastLatencyMs === 'number') {
    lines.push(`Last ranking: ${Math.round(status.lastLatencyMs)} ms`);
  }
  return lines;
}

/** The tooltip: the status lines, then the .bib files (at most TOOLTIP_FILES of them). */
export function tooltipLines(status: ServerStatus): string[] {
  const lines = statusLines(status);
  const files = status.bibFiles;
  lines.push(...files.slice(0, TOOLTIP_FILES).map((f) => `  ${f}`));
  if (files.length > TOOLTIP_FILES) {
    lines.push(`  … and ${files.length - TOOLTIP_FILES} more`);
  }
  return lines;
}
