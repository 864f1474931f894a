/**
 * What the status bar item, its tooltip and the status QuickPick say, from the server's `texcite/status`.
 *
 * Pure: no `vscode` import (status.ts puts these words on screen).
 */
import type { RecallState, RerankerState, ServerStatus } from './protocol';

/** What the extension knows before (or instead of) a status from the server. */
export type ClientState = 'starting' | 'running' | 'stopped' | 'not-installed';

export interface StatusBarLook {
  text: string;
  tooltip: string;
  /** Theme color id for the background, if any. */
  background?: 'statusBarItem.warningBackground' | 'statusBarItem.errorBackground';
}

const RECALL_STATES: readonly string[] = ['bm25', 'hybrid'];
const RERANKER_STATES: readonly string[] = ['off', 'idle', 'loading', 'ready', 'fallback'];
/** Most .bib files the tooltip lists (the QuickPick lists them all). */
const TOOLTIP_FILES = 8;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * The payload of `texcite/status` as a ServerStatus, or undefined when it is not a status.
 *
 * Missing fields get neutral values.
 */
export function toServerStatus(value: unknown): ServerStatus | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return undefined;
  }
  const v = value as Record<string, unknown>;
  const common = {
    message: str(v.message),
    indexedEntries: typeof v.indexedEntries === 'number' && Number.isFinite(v.indexedEntries) ? v.indexedEntries : 0,
    bibFiles: Array.isArray(v.bibFiles) ? v.bibFiles.filter((f): f is string => typeof f === 'string') : [],
    lastLatencyMs: typeof v.lastLatencyMs === 'number' && Number.isFinite(v.lastLatencyMs) ? v.lastLatencyMs : null,
  };
  if (typeof v.ranking === 'string' && typeof v.reranker === 'string') {
    const rerankerBackend = str(v.rerankerBackend);
    return {
      ranking: v.ranking,
      loading: str(v.loading),
      recall: (RECALL_STATES.includes(str(v.recall)) ? v.recall : 'bm25') as RecallState,
      reranker: (RERANKER_STATES.includes(v.reranker) ? v.reranker : 'off') as RerankerState,
      rerankerBackend,
      rerankerModel: rerankerBackend ? str(v.rerankerModel) : '',
      ...common,
    };
  }
  return undefined;
}

/** A reranker model id or path, short enough for the status bar: `Qwen/Qwen3-Reranker-4B` -> `Qwen3`. */
export function shortModelName(model: string): string {
  const base = model.trim().replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? '';
  const name = base.replace(/[-_. ]?re-?rank(er)?\b.*$/i, '') || base || 'reranker';
  return name.length > 24 ? `${name.slice(0, 23)}…` : name;
}

/**
 * What ranks now, in full: the server's `ranking` (derived from the other fields when empty). A reranker is named
 * only when the server says one is configured (`rerankerBackend`): without one the text stops before `→`.
 */
export function rankingText(status: ServerStatus): string {
  const ranking = status.ranking.trim() || derivedRanking(status);
  return status.rerankerBackend ? ranking : ranking.split('→')[0].trim() || 'BM25';
}

/** What ranks now, short: rankingText without details in parentheses and with short model names. */
export function rankingLabel(status: ServerStatus): string {
  const [recall, ...rerankers] = rankingText(status)
    .split('→')
    .map((part) => part.replace(/\s*\([^)]*\)/g, '').trim());
  return [recall || 'BM25', ...rerankers.map(shortModelName)].join(' → ');
}

/** The ranking from the structured fields, for a server that leaves `ranking` empty. */
function derivedRanking(status: ServerStatus): string {
  const recall = status.recall === 'hybrid' ? 'BM25 + MiniLM' : 'BM25';
  if (status.reranker === 'ready' && status.rerankerBackend) {
    return `${recall} → ${status.rerankerModel || 'reranker'}`;
  }
  return recall;
}

/** What is loading now ('' when nothing), in full; a reranker is named only when one is configured. */
export function loadingText(status: ServerStatus): string {
  let loading = status.loading.trim();
  if (loading === '' && status.reranker === 'loading') {
    loading = `reranker ${status.rerankerModel}`.trim();
  }
  if (!status.rerankerBackend) {
    loading = loading
      .split(';')
      .map((part) => (/^\s*reranker\b/i.test(part) ? 'reranker' : part.trim()))
      .join('; ');
  }
  return loading;
}

/** What is loading, short: `MiniLM: embedding 32 entries` -> `MiniLM`, `reranker Qwen/Qwen3-Reranker-4B` -> `Qwen3`. */
export function loadingLabel(loading: string): string {
  const head = loading.split(/[:;]/)[0].trim();
  const reranker = /^reranker\s+(\S.*)$/i.exec(head);
  const label = reranker ? shortModelName(reranker[1]) : head;
  return label.length > 32 ? `${label.slice(0, 31)}…` : label;
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
  const loading = loadingText(status);
  const icon = loading ? '$(sync~spin)' : status.reranker === 'fallback' ? '$(warning)' : '$(book)';
  const look: StatusBarLook = {
    text: `${icon} texcite: ${rankingLabel(status)}${loading ? ` (loading ${loadingLabel(loading)})` : ''}`,
    tooltip: tooltipLines(status).join('\n'),
  };
  if (status.reranker === 'fallback') {
    look.background = 'statusBarItem.warningBackground';
  }
  return look;
}

/** Human-readable lines describing the server status (the tooltip and the status QuickPick, before the .bib files). */
export function statusLines(status: ServerStatus): string[] {
  const lines = [`Ranking: ${rankingText(status)}`];
  const loading = loadingText(status);
  if (loading) {
    lines.push(`Loading: ${loading}`);
  }
  if (status.rerankerBackend) {
    const model = status.rerankerModel ? `${status.rerankerModel} ` : '';
    lines.push(`Reranker: ${model}via ${status.rerankerBackend} (${status.reranker})`);
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
