/**
 * The private environment the extension can set texcite up in: a Python virtual environment in the extension's
 * global storage. Where it lives, which Python can make it, the command lines that make it, and what to tell the
 * user when a step fails.
 *
 * Pure: no `vscode` import and no processes of its own (setup.ts runs them and passes the runner in).
 */
import * as path from 'path';
import { ServerCommand, formatCommandLine } from './command';
import { CheckResult, CheckRun, PACKAGE } from './version';

/** The oldest Python texcite runs on (pyproject.toml's requires-python). */
export const MINIMUM_PYTHON: readonly [number, number] = [3, 11];

/** What `pip install` gets when `texcite.install.pipArgs` is empty: texcite with its default (hybrid) ranking. */
export const DEFAULT_PIP_ARGS: readonly string[] = [PACKAGE];

function pathFor(platform: string): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/** The folder of the private environment inside the extension's global storage folder. */
export function environmentDir(globalStorage: string, platform: string): string {
  return pathFor(platform).join(globalStorage, 'venv');
}

/** The interpreter of a virtual environment made by `python -m venv dir`. */
export function environmentPython(dir: string, platform: string): string {
  const p = pathFor(platform);
  return platform === 'win32' ? p.join(dir, 'Scripts', 'python.exe') : p.join(dir, 'bin', 'python');
}

/** Whether a failed check of `server` is answered by offering the private environment rather than a pip command:
 * when no setting chose the interpreter (the private environment itself included, so a broken one is remade). */
export function offersSetup(server: ServerCommand): boolean {
  return server.source === 'default' || server.source === 'python-extension' || server.source === 'private-environment';
}

/** The interpreters tried, in order: the Python extension's, then the usual names on PATH (deduplicated). */
export function pythonCandidates(pythonExtension: string | undefined, platform: string): string[] {
  const names = platform === 'win32' ? ['python', 'python3'] : ['python3', 'python3.13', 'python3.12', 'python3.11', 'python'];
  const all = pythonExtension && pythonExtension.trim() !== '' ? [pythonExtension.trim(), ...names] : names;
  return all.filter((p, i) => all.indexOf(p) === i);
}

/** `-c` script that prints the version and whether venv + ensurepip import (Debian splits them into python3-venv).
 * It runs on any Python, 2.7 included, so an old one is named with its version rather than a syntax error. */
export const PROBE_ARGS = [
  '-c',
  [
    'import sys',
    'print("python %d.%d.%d" % tuple(sys.version_info[:3]))',
    'try:',
    '    import ensurepip, venv',
    '    print("venv yes")',
    'except ImportError:',
    '    print("venv no")',
  ].join('\n'),
];

export type Probe =
  | { kind: 'missing' }
  | { kind: 'failed'; detail: string }
  | { kind: 'too-old'; version: string }
  | { kind: 'no-venv'; version: string }
  | { kind: 'ok'; version: string };

/** Judge one run of `<python> PROBE_ARGS`. */
export function interpretProbe(run: CheckRun): Probe {
  if (run.errorCode === 'ENOENT') {
    return { kind: 'missing' };
  }
  const m = /^python (\d+)\.(\d+)\.(\d+)$/m.exec(run.stdout);
  if (run.exitCode !== 0 || !m) {
    const lines = (run.stderr + '\n' + run.stdout).split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
    return { kind: 'failed', detail: run.timedOut ? 'did not answer in time' : lines[lines.length - 1] ?? `exit code ${run.exitCode}` };
  }
  const version = `${m[1]}.${m[2]}.${m[3]}`;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < MINIMUM_PYTHON[0] || (major === MINIMUM_PYTHON[0] && minor < MINIMUM_PYTHON[1])) {
    return { kind: 'too-old', version };
  }
  return /^venv yes$/m.test(run.stdout) ? { kind: 'ok', version } : { kind: 'no-venv', version };
}

export interface ProbedPython {
  python: string;
  probe: Probe;
}

export type PythonChoice = { ok: true; python: string; version: string } | { ok: false; message: string; tried: ProbedPython[] };

const MINIMUM_TEXT = MINIMUM_PYTHON.join('.');

function describe({ python, probe }: ProbedPython): string {
  switch (probe.kind) {
    case 'missing':
      return `${python} (not found)`;
    case 'failed':
      return `${python} (failed: ${probe.detail})`;
    case 'too-old':
      return `${python} (${probe.version}, too old)`;
    case 'no-venv':
      return `${python} (${probe.version}, no venv/ensurepip)`;
    case 'ok':
      return `${python} (${probe.version})`;
  }
}

/** The first interpreter that can make the environment, or the message that says why none can. */
export function choosePython(tried: ProbedPython[], platform: string): PythonChoice {
  const good = tried.find((t) => t.probe.kind === 'ok');
  if (good && good.probe.kind === 'ok') {
    return { ok: true, python: good.python, version: good.probe.version };
  }
  const list = tried.map(describe).join(', ');
  const noVenv = tried.find((t) => t.probe.kind === 'no-venv');
  if (noVenv && noVenv.probe.kind === 'no-venv') {
    const [major, minor] = noVenv.probe.version.split('.');
    const fix =
      platform === 'linux'
        ? ` On Debian and Ubuntu install it with: sudo apt install python3-venv (or python${major}.${minor}-venv).`
        : ' Install a Python that includes them (e.g. from python.org).';
    return {
      ok: false,
      message: `texcite: Python ${noVenv.probe.version} (${noVenv.python}) cannot create a virtual environment: its venv/ensurepip module is missing.${fix} Then retry.`,
      tried,
    };
  }
  const found = tried.some((t) => t.probe.kind === 'too-old' || t.probe.kind === 'failed');
  const what = found ? `No Python ${MINIMUM_TEXT} or newer was found` : 'No Python was found';
  return {
    ok: false,
    message:
      `texcite: ${what} to set texcite up (tried ${list}). Install Python ${MINIMUM_TEXT} or newer, or select one ` +
      'with the Python extension, then retry.',
    tried,
  };
}

/** Try the candidates in order with `probe` (runs `<python> PROBE_ARGS`) until one can make the environment. */
export async function findPython(
  candidates: string[],
  probe: (python: string) => Promise<CheckRun>,
  platform: string,
): Promise<PythonChoice> {
  const tried: ProbedPython[] = [];
  for (const python of candidates) {
    const result = interpretProbe(await probe(python));
    tried.push({ python, probe: result });
    if (result.kind === 'ok') {
      break;
    }
  }
  return choosePython(tried, platform);
}

/** `texcite.install.pipArgs` when it is a non-empty list of non-empty strings, else DEFAULT_PIP_ARGS. */
export function pipArgs(setting: unknown): string[] {
  if (Array.isArray(setting) && setting.length > 0 && setting.every((a) => typeof a === 'string' && a.trim() !== '')) {
    return (setting as string[]).map((a) => a.trim());
  }
  return [...DEFAULT_PIP_ARGS];
}

export interface CommandLine {
  command: string;
  args: string[];
}

/** `<python> -m venv <dir>`. */
export function venvCommand(python: string, dir: string): CommandLine {
  return { command: python, args: ['-m', 'venv', dir] };
}

/** `<environment python> -m pip install <pipArgs>`. */
export function pipCommand(dir: string, args: string[], platform: string): CommandLine {
  return {
    command: environmentPython(dir, platform),
    args: ['-m', 'pip', 'install', '--disable-pip-version-check', ...args],
  };
}

export function commandText(line: CommandLine, platform: string): string {
  return formatCommandLine(line.command, line.args, platform);
}

function lastLines(text: string, n: number): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  return lines.slice(-n).join(' ');
}

/** The message for a failed `python -m venv` (Debian's missing ensurepip gets its own advice). */
export function venvFailure(run: CheckRun, python: string, platform: string): string {
  const out = run.stderr + '\n' + run.stdout;
  if (/ensurepip is not available|No module named '?ensurepip'?|python3(\.\d+)?-venv/.test(out)) {
    const apt = platform === 'linux' ? ' On Debian and Ubuntu install it with: sudo apt install python3-venv.' : '';
    return `texcite: ${python} cannot create a virtual environment: ensurepip is missing.${apt} Then retry.`;
  }
  return `texcite: "${python} -m venv" failed (exit code ${run.exitCode}): ${lastLines(out, 1) || 'no output'}. Retry, or see the texcite output.`;
}

/** The message for a failed `pip install`. */
export function pipFailure(run: CheckRun, args: string[]): string {
  return (
    `texcite: pip could not install ${args.join(' ')} (exit code ${run.exitCode}): ${lastLines(run.stderr, 1) || lastLines(run.stdout, 1) || 'no output'}. ` +
    'The texcite output has pip\'s log; texcite.install.pipArgs can point pip at a wheel or a local index.'
  );
}

/** The offer shown when no usable texcite was found for an interpreter no setting chose. */
export function offerMessage(failure: Exclude<CheckResult, { ok: true }>, args: string[]): string {
  // The missing interpreter's own message advises settings; here the set-up finds a Python itself.
  const why = failure.problem === 'interpreter-missing' ? 'texcite: no Python with texcite was found.' : failure.message;
  return (
    `${why} Set it up in a private environment? The extension makes a Python virtual environment in its own ` +
    `storage and runs "pip install ${args.join(' ')}" in it (a few hundred MB).`
  );
}
