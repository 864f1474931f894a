/**
 * The `texcite` configuration section as the server sees it, and which changes need a restart.
 *
 * Pure: no `vscode` import.
 */

export const SECTION = 'texcite';

/** Settings only the extension reads (the server ignores them); declared by scripts/sync-settings.mjs. */
export const CLIENT_ONLY_SETTINGS = [
  'texcite.server.pythonPath',
  'texcite.server.command',
  'texcite.trace.server',
  'texcite.install.pipArgs',
];

/** Sub-sections of `texcite` that belong to the client. */
const CLIENT_SECTIONS = ['server', 'trace', 'install'];

/** Settings whose change restarts the server (everything else reaches it as didChangeConfiguration). */
export const RESTART_SECTIONS = ['texcite.server'];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A plain JSON copy: drops functions (WorkspaceConfiguration's get/has/...) and undefined values. */
export function toJson(value: unknown): Json | undefined {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number') {
    return Number.isFinite(value) ? value : undefined;
  }
  if (Array.isArray(value)) {
    return value.map((v) => toJson(v) ?? null);
  }
  if (typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const j = toJson(v);
      if (j !== undefined) {
        out[k] = j;
      }
    }
    return out;
  }
  return undefined;
}

/**
 * The nested settings object sent to the server (initializationOptions and workspace/configuration),
 * e.g. `{"completion": {"maxItems": 50}, "reranker": {...}}`, without the client-only sections.
 * Accepts either the nested form VS Code returns for `getConfiguration('texcite')` or flat dotted keys.
 */
export function serverSettings(section: unknown): { [key: string]: Json } {
  const json = toJson(section);
  const out: { [key: string]: Json } = {};
  if (json === null || json === undefined || typeof json !== 'object' || Array.isArray(json)) {
    return out;
  }
  for (const [rawKey, value] of Object.entries(json)) {
    const key = rawKey.startsWith(SECTION + '.') ? rawKey.slice(SECTION.length + 1) : rawKey;
    const parts = key.split('.');
    if (CLIENT_SECTIONS.includes(parts[0])) {
      continue;
    }
    let node = out;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) {
        node[part] = {};
      }
      node = node[part] as { [key: string]: Json };
    }
    const leaf = parts[parts.length - 1];
    const existing = node[leaf];
    if (
      existing !== null && typeof existing === 'object' && !Array.isArray(existing) &&
      value !== null && typeof value === 'object' && !Array.isArray(value)
    ) {
      node[leaf] = { ...existing, ...value };
    } else {
      node[leaf] = value;
    }
  }
  return out;
}

/** Whether a configuration change (given VS Code's `event.affectsConfiguration`) needs a server restart. */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return RESTART_SECTIONS.some((s) => affects(s));
}

/** The part of `vscode.WorkspaceConfiguration` that reading settings needs (so this module stays pure). */
export interface ConfigurationLike {
  get<T>(section: string): T | undefined;
}

/** The client-only settings that choose the server's command line (`texcite.server.*`), as written. */
export interface LaunchSettings {
  /** `texcite.server.command`; validated by command.ts. */
  command: unknown;
  /** `texcite.server.pythonPath`; validated by command.ts. */
  pythonPath: unknown;
}

/** Read the launch settings from `getConfiguration('texcite')`. */
export function launchSettings(config: ConfigurationLike): LaunchSettings {
  return { command: config.get<unknown>('server.command'), pythonPath: config.get<unknown>('server.pythonPath') };
}
