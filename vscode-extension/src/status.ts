/**
 * How the server's reranker status looks: status bar text, tooltip and the detail list.
 *
 * Pure: no `vscode` import.
 */
import type { ServerStatus } from './protocol';

/** What the extension knows before (or instead of) a status from the server. */
export type ClientState = 'starting' | 'running' | 'stopped' | 'not-installed';

export interface StatusBarLook {
  text: string;
  tooltip: string;
  /** Theme color id for the background, if any. */
  background?: 'statusBarItem.warningBackground' | 'statusBarItem.errorBackground';
}

const ICONS: Record<string, string> = {
  loading: '$(sync~spin)',
  ready: '$(book)',
  fallback: '$(warning)',
  off: '$(circle-slash)',
};

export function isServerStatus(value: unknown): value is ServerStatus {
  if (value === null || typeof value !== 'object') {
    return false;
  }
  const v = value as Record<string, unknown>;
  return typeof v.state === 'string' && typeof v.backend === 'string';
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
  const icon = ICONS[status.state] ?? '$(book)';
  const look: StatusBarLook = {
    text: `${icon} texcite: ${status.state}`,
    tooltip: statusLines(status).join('\n'),
  };
  if (status.state === 'fallback') {
    look.background = 'statusBarItem.warningBackground';
  }
  return look;
}

/** Human-readable lines describing the server status (tooltip and the status command). */
export function statusLines(status: ServerStatus): string[] {
  const lines = [`Reranker: ${status.state} (backend ${status.backend || 'none'}${status.model ? `, model ${status.model}` : ''})`];
  if (status.message) {
    lines.push(status.message);
  }
  const files = status.bibFiles ?? [];
  lines.push(`Indexed entries: ${status.indexedEntries ?? 0} from ${files.length} .bib file${files.length === 1 ? '' : 's'}`);
  if (typeof status.lastLatencyMs === 'number') {
    lines.push(`Last ranking: ${Math.round(status.lastLatencyMs)} ms`);
  }
  return lines;
}
