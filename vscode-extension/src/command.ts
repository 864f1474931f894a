/**
 * Which command line starts the texcite language server, and which one checks the installation.
 *
 * Pure: no `vscode` import, so it is unit-tested in plain node.
 */

/** Where the Python interpreter (or the whole command line) came from; shown in messages. */
export type CommandSource =
  | 'texcite.server.command'
  | 'texcite.server.pythonPath'
  | 'private-environment'
  | 'python-extension'
  | 'default';

export interface ServerCommand {
  command: string;
  args: string[];
  /** The interpreter, when the command line is `<python> -m texcite serve`; undefined for a custom command. */
  python: string | undefined;
  source: CommandSource;
}

export interface CommandInputs {
  /** `texcite.server.command`: overrides everything when it is a non-empty array of non-empty strings. */
  commandSetting?: unknown;
  /** `texcite.server.pythonPath`. */
  pythonPathSetting?: unknown;
  /** The interpreter of the private environment (environment.ts), when the extension has set one up. */
  privateEnvironmentPath?: string;
  /** Active interpreter reported by the Python extension, if it is installed and has one. */
  pythonExtensionPath?: string;
  /** `process.platform`. */
  platform: string;
  /** For `~` and `${workspaceFolder}` / `${userHome}` in settings. */
  homeDir?: string;
  workspaceFolder?: string;
  /**
   * `vscode.workspace.isTrusted` (default true). In Restricted Mode the workspace must not choose the program:
   * the Python extension's interpreter (often the workspace's own venv) is not used and `${workspaceFolder}`
   * is not expanded. (VS Code itself ignores workspace values of the settings, see restrictedConfigurations.)
   */
  trusted?: boolean;
}

export const SERVE_ARGS = ['-m', 'texcite', 'serve'];
export const VERSION_ARGS = ['-m', 'texcite', '--version'];

/** The interpreter used when neither the settings nor the Python extension name one. */
export function defaultPython(platform: string): string {
  return platform === 'win32' ? 'python' : 'python3';
}

/** Expand `~`, `${userHome}` and `${workspaceFolder}` the way a user expects in a path setting. */
export function expandPath(value: string, homeDir?: string, workspaceFolder?: string): string {
  let out = value;
  if (homeDir !== undefined) {
    out = out.replace(/\$\{userHome\}/g, homeDir);
    if (out === '~' || out.startsWith('~/') || out.startsWith('~\\')) {
      out = homeDir + out.slice(1);
    }
  }
  if (workspaceFolder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  }
  return out;
}

function commandArray(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    return undefined;
  }
  if (!value.every((v) => typeof v === 'string' && v.trim() !== '')) {
    return undefined;
  }
  return value as string[];
}

/**
 * Resolve the server command line: command setting, else pythonPath, else the private environment, else the Python
 * extension's interpreter, else PATH. The private environment exists only when the user had the extension set texcite
 * up, so it comes before the interpreters that lacked texcite then; it is the user's own, so Restricted Mode uses it.
 */
export function resolveServerCommand(inputs: CommandInputs): ServerCommand {
  const trusted = inputs.trusted !== false;
  const expand = (s: string) => expandPath(s, inputs.homeDir, trusted ? inputs.workspaceFolder : undefined);
  const custom = commandArray(inputs.commandSetting);
  if (custom) {
    const [command, ...args] = custom.map(expand);
    return { command, args, python: undefined, source: 'texcite.server.command' };
  }
  let python: string;
  let source: CommandSource;
  const setting = typeof inputs.pythonPathSetting === 'string' ? inputs.pythonPathSetting.trim() : '';
  if (setting !== '') {
    python = expand(setting);
    source = 'texcite.server.pythonPath';
  } else if (inputs.privateEnvironmentPath && inputs.privateEnvironmentPath.trim() !== '') {
    python = inputs.privateEnvironmentPath;
    source = 'private-environment';
  } else if (trusted && inputs.pythonExtensionPath && inputs.pythonExtensionPath.trim() !== '') {
    python = inputs.pythonExtensionPath.trim();
    source = 'python-extension';
  } else {
    python = defaultPython(inputs.platform);
    source = 'default';
  }
  return { command: python, args: [...SERVE_ARGS], python, source };
}

/**
 * The command line that prints `texcite X.Y.Z` for the same installation, or undefined when it cannot be
 * derived (a custom command that does not end in `serve`: the user has taken the installation in hand).
 */
export function versionCommand(server: ServerCommand): { command: string; args: string[] } | undefined {
  if (server.python !== undefined) {
    return { command: server.python, args: [...VERSION_ARGS] };
  }
  const i = server.args.lastIndexOf('serve');
  if (i < 0) {
    return undefined;
  }
  const args = [...server.args.slice(0, i), '--version'];
  return { command: server.command, args };
}

/** Quote one word for a shell command a user pastes (POSIX or Windows). */
export function shellQuote(word: string, platform: string): string {
  if (/^[A-Za-z0-9_\-.,/:@=+\\]+$/.test(word) && !(platform !== 'win32' && word.includes('\\'))) {
    return word;
  }
  if (platform === 'win32') {
    return `"${word.replace(/"/g, '\\"')}"`;
  }
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command line as text a user can paste into a terminal. */
export function formatCommandLine(command: string, args: string[], platform: string): string {
  return [command, ...args].map((w) => shellQuote(w, platform)).join(' ');
}
