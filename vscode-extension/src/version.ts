/**
 * Checking the texcite installation: parse `texcite X.Y.Z` and turn a failed check into one message.
 *
 * Pure: no `vscode` import.
 */
import { formatCommandLine } from './command';

export const MINIMUM_VERSION = '0.1.0';

export type Version = [number, number, number];

/** `texcite 0.1.0` (or a bare `0.2.0.dev1`, `1.2.3+local`) -> [0, 1, 0]; undefined if there is no version. */
export function parseVersion(output: string): Version | undefined {
  const m = /(?:^|\s)(?:texcite\s+)?v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(output.trim());
  if (!m) {
    return undefined;
  }
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    if (a[i] !== b[i]) {
      return a[i] < b[i] ? -1 : 1;
    }
  }
  return 0;
}

export function formatVersion(v: Version): string {
  return v.join('.');
}

/** What running the version command produced (child_process.execFile's callback, flattened). */
export interface CheckRun {
  /** Node's error code, e.g. 'ENOENT' when the interpreter does not exist; undefined when it ran. */
  errorCode?: string;
  /** True when the process was killed by the timeout. */
  timedOut?: boolean;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export type CheckProblem = 'interpreter-missing' | 'not-installed' | 'too-old' | 'broken';

export type CheckResult =
  | { ok: true; version: Version }
  | {
      ok: false;
      problem: CheckProblem;
      /** One sentence for the error notification. */
      message: string;
      /** The pip command that fixes it, when pip can fix it. */
      pipCommand?: string;
      /** Details for the output channel. */
      detail: string;
    };

function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  return lines.length ? lines[lines.length - 1] : '';
}

/** What pip installs: texcite with its default ranking (BM25 + MiniLM on ONNX Runtime). */
export const PACKAGE = 'texcite[hybrid]';

/** `<python> -m pip install 'texcite[hybrid]'` (or `--upgrade`), quoted for the platform. */
export function pipInstallCommand(python: string, platform: string, upgrade = false): string {
  const args = ['-m', 'pip', 'install', ...(upgrade ? ['--upgrade'] : []), PACKAGE];
  return formatCommandLine(python, args, platform);
}

/**
 * Judge one run of `<python> -m texcite --version`.
 * @param python the interpreter (undefined for a custom server command: no pip advice then)
 */
export function interpretCheck(
  run: CheckRun,
  python: string | undefined,
  platform: string,
  minimum: string = MINIMUM_VERSION,
): CheckResult {
  const who = python ?? 'the texcite.server.command';
  const detail = [`exit code: ${run.exitCode}`, run.stdout.trim(), run.stderr.trim()].filter((s) => s !== '').join('\n');
  if (run.errorCode === 'ENOENT') {
    return {
      ok: false,
      problem: 'interpreter-missing',
      message:
        python !== undefined
          ? `texcite: the Python interpreter "${python}" was not found. Set "texcite.server.pythonPath" or select an interpreter with the Python extension, then install texcite into it.`
          : `texcite: the program in "texcite.server.command" was not found.`,
      detail,
    };
  }
  if (run.timedOut) {
    return {
      ok: false,
      problem: 'broken',
      message: `texcite: "${who} -m texcite --version" did not answer in time.`,
      detail,
    };
  }
  const found = run.exitCode === 0 ? parseVersion(run.stdout + '\n' + run.stderr) : undefined;
  if (found === undefined) {
    const noModule = /No module named '?texcite'?/.test(run.stderr) || /No module named '?texcite'?/.test(run.stdout);
    if (noModule || python !== undefined) {
      return {
        ok: false,
        problem: noModule ? 'not-installed' : 'broken',
        message: noModule
          ? `texcite is not installed for ${who}.`
          : `texcite could not be started with ${who}: ${lastLine(run.stderr) || lastLine(run.stdout) || 'no version printed'}.`,
        pipCommand: python !== undefined ? pipInstallCommand(python, platform) : undefined,
        detail,
      };
    }
    return {
      ok: false,
      problem: 'broken',
      message: `texcite: the version check of "texcite.server.command" failed: ${lastLine(run.stderr) || lastLine(run.stdout) || 'no version printed'}.`,
      detail,
    };
  }
  const min = parseVersion(minimum) ?? [0, 0, 0];
  if (compareVersions(found, min) < 0) {
    return {
      ok: false,
      problem: 'too-old',
      message: `texcite ${formatVersion(found)} is installed for ${who}, but this extension needs ${formatVersion(min)} or newer.`,
      pipCommand: python !== undefined ? pipInstallCommand(python, platform, true) : undefined,
      detail,
    };
  }
  return { ok: true, version: found };
}

/** The whole text of the one error notification for a failed check. */
export function checkNotification(result: Exclude<CheckResult, { ok: true }>): string {
  if (result.pipCommand === undefined) {
    return result.message;
  }
  const verb = result.problem === 'too-old' ? 'Upgrade' : 'Install';
  return (
    `${result.message} ${verb} it with: ${result.pipCommand} ` +
    '(from a development checkout: pip install -e /path/to/texcite), then run "texcite: Restart Server".'
  );
}
