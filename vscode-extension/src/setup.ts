/**
 * Setting texcite up in the private environment (environment.ts): the offer when no usable texcite is found, and
 * the set-up itself — find a Python >= 3.11, `python -m venv`, `pip install 'texcite[hybrid]'`, restart the server
 * from the new environment — with progress in a notification, pip's output in the "texcite" output channel, a
 * message that says what to do when a step fails, and a retry. Every step is an asynchronous child process: the
 * extension host never waits on one.
 */
import { spawn } from 'child_process';
import { promises as fs } from 'fs';
import * as vscode from 'vscode';
import {
  CommandLine,
  PROBE_ARGS,
  commandText,
  environmentPython,
  findPython,
  offerMessage,
  pipArgs,
  pipCommand,
  pipFailure,
  pythonCandidates,
  venvCommand,
  venvFailure,
} from './environment';
import type { PythonInterpreter } from './python';
import type { InstallFailure, TexciteServer } from './server';
import { SECTION } from './settings';
import { CheckRun } from './version';

const SET_UP = 'Set Up';
const RETRY = 'Retry';
const OPEN_SETTINGS = 'Open Settings';
const SHOW_OUTPUT = 'Show Output';
/** A probe of a Python interpreter that takes longer than this counts as failed. */
const PROBE_TIMEOUT_MS = 30000;
/** Characters of a process's output kept for the error message (the output channel has all of it). */
const KEEP_CHARS = 20000;

type Outcome = { ok: true } | { ok: false; message: string } | { ok: false; cancelled: true };

interface RunOptions {
  /** Each chunk of output as it comes (pip's log into the output channel). */
  onOutput?: (text: string) => void;
  token?: vscode.CancellationToken;
  timeoutMs?: number;
}

/** Run a command without a shell; resolves (never rejects) once it has exited. */
function execute(line: CommandLine, options: RunOptions = {}): Promise<CheckRun & { cancelled: boolean }> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let cancelled = false;
    let timedOut = false;
    const child = spawn(line.command, line.args, { windowsHide: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (text: string, chunk: Buffer) => (text + chunk.toString()).slice(-KEEP_CHARS);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout = keep(stdout, chunk);
      options.onOutput?.(chunk.toString());
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = keep(stderr, chunk);
      options.onOutput?.(chunk.toString());
    });
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill();
        }, options.timeoutMs)
      : undefined;
    const cancel = options.token?.onCancellationRequested(() => {
      cancelled = true;
      child.kill();
    });
    let done = false;
    const finish = (run: CheckRun) => {
      if (done) {
        return;
      }
      done = true;
      if (timer) {
        clearTimeout(timer);
      }
      cancel?.dispose();
      resolve({ ...run, cancelled });
    };
    child.on('error', (err: NodeJS.ErrnoException) =>
      finish({ errorCode: err.code, exitCode: null, stdout, stderr: stderr || String(err) }),
    );
    child.on('close', (code) => finish({ exitCode: code, timedOut, stdout, stderr }));
  });
}

/** The last line of pip's output worth showing in the progress notification ("Collecting onnxruntime>=1.17"). */
function progressLine(text: string): string | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('━'));
  const last = lines[lines.length - 1];
  return last === undefined ? undefined : last.length > 90 ? last.slice(0, 87) + '...' : last;
}

export class PrivateEnvironment implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  /** A set-up is running: offers are not shown meanwhile (the server's checks fail while pip installs). */
  private busy = false;
  /** An offer is on screen: a second start does not stack another one. */
  private offering = false;

  /**
   * @param dir the environment's folder (environmentDir of the extension's global storage)
   */
  constructor(
    private readonly dir: string,
    private readonly server: TexciteServer,
    private readonly python: PythonInterpreter,
  ) {
    this.disposables.push(server.onDidNeedSetup((failure) => void this.offer(failure)));
  }

  private log(text: string): void {
    this.server.outputChannel.appendLine(text);
  }

  /** The offer after a failed check: set up, open the settings (to name an interpreter) or show the output. */
  private async offer(failure: InstallFailure): Promise<void> {
    if (this.busy || this.offering) {
      return;
    }
    this.offering = true;
    let pick: string | undefined;
    try {
      const args = pipArgs(vscode.workspace.getConfiguration(SECTION).get<unknown>('install.pipArgs'));
      pick = await vscode.window.showErrorMessage(offerMessage(failure, args), SET_UP, OPEN_SETTINGS, SHOW_OUTPUT);
    } finally {
      this.offering = false;
    }
    if (pick === SET_UP) {
      await this.setUp();
    } else if (pick === OPEN_SETTINGS) {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'texcite.server');
    } else if (pick === SHOW_OUTPUT) {
      this.server.showOutput();
    }
  }

  /** The command `texcite.setUp` and the offer's button: (re)make the environment and start the server from it. */
  async setUp(): Promise<void> {
    if (this.busy) {
      void vscode.window.showInformationMessage('texcite: the set-up is already running (see the texcite output).');
      return;
    }
    this.busy = true;
    let outcome: Outcome;
    try {
      // The server may run from the environment that is about to be remade.
      await this.server.stop();
      outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'texcite: setting up', cancellable: true },
        (progress, token) =>
          this.build(progress, token).catch((err): Outcome => ({ ok: false, message: `texcite: the set-up failed: ${String(err)}` })),
      );
      if (!outcome.ok) {
        await fs.rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
      }
      // From the new environment, or (after a failure) from whatever ran before.
      await this.server.restart();
    } finally {
      this.busy = false;
    }
    const source = this.server.commandLine?.source;
    if (outcome.ok && source !== 'private-environment') {
      void vscode.window.showInformationMessage(
        `texcite is set up in ${this.dir}, but the setting ${source} chooses the server: clear it to use the environment.`,
      );
      return;
    }
    const failure = this.server.failure;
    if (outcome.ok && failure) {
      outcome = { ok: false, message: `texcite was installed in ${this.dir} but does not start: ${failure.message}` };
    }
    if (outcome.ok) {
      void vscode.window.showInformationMessage(`texcite is set up in ${this.dir}.`);
      return;
    }
    if ('cancelled' in outcome) {
      this.log('The set-up was cancelled.');
      return;
    }
    this.log(outcome.message);
    const pick = await vscode.window.showErrorMessage(outcome.message, RETRY, SHOW_OUTPUT);
    if (pick === RETRY) {
      await this.setUp();
    } else if (pick === SHOW_OUTPUT) {
      this.server.showOutput();
    }
  }

  private async build(
    progress: vscode.Progress<{ message?: string }>,
    token: vscode.CancellationToken,
  ): Promise<Outcome> {
    const platform = process.platform;
    const args = pipArgs(vscode.workspace.getConfiguration(SECTION).get<unknown>('install.pipArgs'));
    this.log(`Setting texcite up in a private environment: ${this.dir}`);

    progress.report({ message: 'looking for Python 3.11 or newer' });
    const trusted = vscode.workspace.isTrusted !== false;
    const fromExtension = trusted ? await this.python.activeInterpreter(vscode.workspace.workspaceFolders?.[0]?.uri) : undefined;
    const choice = await findPython(
      pythonCandidates(fromExtension, platform),
      (python) => execute({ command: python, args: PROBE_ARGS }, { timeoutMs: PROBE_TIMEOUT_MS, token }),
      platform,
    );
    if (token.isCancellationRequested) {
      return { ok: false, cancelled: true };
    }
    if (!choice.ok) {
      return { ok: false, message: choice.message };
    }
    this.log(`Python ${choice.version}: ${choice.python}`);

    const steps: { what: string; line: CommandLine; failure: (run: CheckRun) => string }[] = [
      {
        what: 'creating the virtual environment',
        line: venvCommand(choice.python, this.dir),
        failure: (run) => venvFailure(run, choice.python, platform),
      },
      {
        what: `installing ${args.join(' ')}`,
        line: pipCommand(this.dir, args, platform),
        failure: (run) => pipFailure(run, args),
      },
    ];
    await fs.rm(this.dir, { recursive: true, force: true });
    for (const step of steps) {
      progress.report({ message: step.what });
      this.log(`> ${commandText(step.line, platform)}`);
      const run = await execute(step.line, {
        token,
        onOutput: (text) => {
          this.server.outputChannel.append(text);
          const line = progressLine(text);
          if (line) {
            progress.report({ message: `${step.what}: ${line}` });
          }
        },
      });
      if (run.cancelled) {
        return { ok: false, cancelled: true };
      }
      if (run.errorCode !== undefined || run.exitCode !== 0) {
        return { ok: false, message: step.failure(run) };
      }
    }
    this.log(`texcite is installed in ${environmentPython(this.dir, platform)}.`);
    return { ok: true };
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) {
      d.dispose();
    }
  }
}
