/**
 * The texcite language server: which command line starts it, the installation check, and starting, stopping and
 * restarting the LanguageClient (one at a time), the "texcite" output channel, and what state it is in.
 */
import { constants as fsConstants, promises as fs } from 'fs';
import { homedir } from 'os';
import * as vscode from 'vscode';
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import { ServerCommand, formatCommandLine, resolveServerCommand } from './command';
import { environmentPython, offersSetup } from './environment';
import { checkInstallation } from './install';
import { STATUS_METHOD, ServerStatus } from './protocol';
import type { PythonInterpreter } from './python';
import { SECTION, launchSettings, serverSettings } from './settings';
import { NoWorkDoneProgress } from './status';
import { ClientState, toServerStatus } from './statusText';
import { CheckResult } from './version';

const CLIENT_ID = 'texcite';
const LANGUAGES = ['latex', 'tex', 'bibtex'];
const DOCUMENT_SELECTOR = LANGUAGES.flatMap((language) => [
  { scheme: 'file', language },
  { scheme: 'untitled', language },
]);
const STATUS_TIMEOUT_MS = 5000;
/** Settings changes closer together than this cause one restart. */
const RESTART_DELAY_MS = 500;

export type InstallFailure = Exclude<CheckResult, { ok: true }>;

/** Why the server is not running: the installation check failed, or the client could not start it. */
export type ServerFailure = { kind: 'check'; check: InstallFailure } | { kind: 'start'; error: string };

export class TexciteServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private clientState: ClientState = 'starting';
  private lastStatus: ServerStatus | undefined;
  private lastFailure: InstallFailure | undefined;
  private command: ServerCommand | undefined;
  private queue: Promise<void> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;
  /** Disposed with the current client (the .bib file watcher). */
  private clientDisposables: vscode.Disposable[] = [];
  private readonly output: vscode.OutputChannel;
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly failed = new vscode.EventEmitter<ServerFailure>();
  private readonly setupNeeded = new vscode.EventEmitter<InstallFailure>();

  /** Fires when `state`, `status` or `failure` change. */
  readonly onDidChange: vscode.Event<void> = this.changed.event;
  /** Fires once for each start that fails (for the one error notification), except when onDidNeedSetup fires. */
  readonly onDidFail: vscode.Event<ServerFailure> = this.failed.event;
  /** Fires instead of onDidFail when the check failed for an interpreter no setting chose (setup.ts offers the
   * private environment then). */
  readonly onDidNeedSetup: vscode.Event<InstallFailure> = this.setupNeeded.event;

  /** @param environment the folder of the private environment (environment.ts), used when it has an interpreter */
  constructor(
    private readonly python: PythonInterpreter,
    private readonly environment: string,
  ) {
    this.output = vscode.window.createOutputChannel('texcite');
  }

  /** The "texcite" output channel (the server's log, the installation check, the setup's pip output). */
  get outputChannel(): vscode.OutputChannel {
    return this.output;
  }

  get state(): ClientState {
    return this.clientState;
  }

  /** The latest `texcite/status` of the running server. */
  get status(): ServerStatus | undefined {
    return this.lastStatus;
  }

  /** The command line of the latest start. */
  get commandLine(): ServerCommand | undefined {
    return this.command;
  }

  /** Set when the installation check failed: the server was not started. */
  get failure(): InstallFailure | undefined {
    return this.lastFailure;
  }

  /** The client, when its server is running. */
  runningClient(): LanguageClient | undefined {
    return this.client?.isRunning() ? this.client : undefined;
  }

  showOutput(): void {
    this.output.show(true);
  }

  /** Serialize start/stop so that quick setting changes cannot run two servers. */
  private enqueue(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step, step).catch((err) => this.log(`texcite: ${String(err)}`));
    return this.queue;
  }

  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  restart(): Promise<void> {
    return this.enqueue(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  /** Restart soon, once for a burst of changes. */
  scheduleRestart(): void {
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
    }
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart();
    }, RESTART_DELAY_MS);
  }

  /** The Python extension's interpreter changed: restart if the server runs on it (or would, had there been one). */
  interpreterChanged(): void {
    if (vscode.workspace.isTrusted === false) {
      return; // Restricted Mode does not use the Python extension's interpreter
    }
    if (this.command?.source === 'python-extension' || this.command?.source === 'default') {
      this.scheduleRestart();
    }
  }

  /** Stop the server and wait for it (deactivate(), and the set-up before it remakes the environment). */
  async stop(): Promise<void> {
    await this.enqueue(() => this.doStop());
  }

  private log(line: string): void {
    this.output.appendLine(line);
  }

  private setState(state: ClientState): void {
    this.clientState = state;
    this.changed.fire();
  }

  private workspaceFolder(): vscode.WorkspaceFolder | undefined {
    const doc = vscode.window.activeTextEditor?.document;
    return (doc && vscode.workspace.getWorkspaceFolder(doc.uri)) ?? vscode.workspace.workspaceFolders?.[0];
  }

  /** The private environment's interpreter, when the extension has set one up. */
  private async privateEnvironmentPython(): Promise<string | undefined> {
    const python = environmentPython(this.environment, process.platform);
    try {
      await fs.access(python, fsConstants.X_OK);
      return python;
    } catch {
      return undefined;
    }
  }

  private async resolveCommand(trusted: boolean): Promise<ServerCommand> {
    const settings = launchSettings(vscode.workspace.getConfiguration(SECTION));
    const folder = this.workspaceFolder();
    const inputs = {
      commandSetting: settings.command,
      pythonPathSetting: settings.pythonPath,
      privateEnvironmentPath: await this.privateEnvironmentPython(),
      platform: process.platform,
      homeDir: process.env.HOME ?? process.env.USERPROFILE,
      workspaceFolder: folder?.uri.fsPath,
      trusted,
    };
    const first = resolveServerCommand(inputs);
    if (first.source !== 'default' || !trusted) {
      return first;
    }
    const pythonExtensionPath = await this.python.activeInterpreter(folder?.uri);
    return resolveServerCommand({ ...inputs, pythonExtensionPath });
  }

  private async doStart(): Promise<void> {
    this.lastStatus = undefined;
    this.lastFailure = undefined;
    this.setState('starting');
    const trusted = vscode.workspace.isTrusted !== false;
    const server = await this.resolveCommand(trusted);
    this.command = server;
    // In Restricted Mode not in the workspace: `python -m` imports from its working directory first.
    const cwd = trusted ? this.workspaceFolder()?.uri.fsPath : homedir();
    if (!trusted) {
      this.log(
        'Restricted Mode: workspace values of texcite.server.* are ignored, the Python extension\'s interpreter ' +
          'is not used and ${workspaceFolder} is not expanded. Trust the workspace to lift this.',
      );
    }
    this.log(`Server command (${server.source}): ${formatCommandLine(server.command, server.args, process.platform)}`);

    const check = await checkInstallation(server, process.platform, cwd);
    if (check && !check.ok) {
      this.lastFailure = check;
      this.log(`Installation check failed: ${check.message}\n${check.detail}`);
      this.setState('not-installed');
      if (offersSetup(server)) {
        this.setupNeeded.fire(check);
      } else {
        this.failed.fire({ kind: 'check', check });
      }
      return;
    }
    if (check?.ok) {
      this.log(`Found texcite ${check.version.join('.')}`);
    }

    const serverOptions: ServerOptions = {
      command: server.command,
      args: server.args,
      transport: TransportKind.stdio,
      options: { cwd },
    };
    const fileWatcher = vscode.workspace.createFileSystemWatcher('**/*.bib');
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_SELECTOR,
      outputChannel: this.output,
      traceOutputChannel: this.output,
      synchronize: { configurationSection: SECTION, fileEvents: fileWatcher },
      initializationOptions: () => serverSettings(vscode.workspace.getConfiguration(SECTION)),
      middleware: {
        workspace: {
          configuration: async (params, token, next) => {
            const result = await next(params, token);
            if (!Array.isArray(result)) {
              return result;
            }
            return result.map((value, i) => (params.items[i]?.section === SECTION ? serverSettings(value) : value));
          },
        },
      },
    };
    const client = new LanguageClient(CLIENT_ID, 'texcite', serverOptions, clientOptions);
    this.client = client;
    client.registerFeature(new NoWorkDoneProgress());
    client.onNotification(STATUS_METHOD, (params: unknown) => this.onStatus(client, params));
    client.onDidChangeState((e) => {
      if (this.client !== client) {
        return;
      }
      if (e.newState === State.Stopped) {
        this.setState('stopped');
      } else if (e.newState === State.Running) {
        this.setState('running');
      }
    });
    this.clientDisposables.push(fileWatcher);
    try {
      await client.start();
    } catch (err) {
      this.log(`The texcite server failed to start: ${String(err)}`);
      this.setState('stopped');
      this.failed.fire({ kind: 'start', error: String(err) });
      return;
    }
    // Not awaited: a server that never answers must not hold up restarts and shutdown.
    void this.requestStatus();
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.dispose(3000);
      } catch (err) {
        this.log(`Stopping the server: ${String(err)}`);
      }
    }
    for (const d of this.clientDisposables.splice(0)) {
      d.dispose();
    }
    this.lastStatus = undefined;
    this.setState('stopped');
  }

  private onStatus(client: LanguageClient, params: unknown): void {
    const status = toServerStatus(params);
    if (status && client === this.client) {
      this.lastStatus = status;
      this.changed.fire();
    }
  }

  /** Ask the running server for its status (and keep it); undefined when there is none or it does not answer. */
  async requestStatus(): Promise<ServerStatus | undefined> {
    const client = this.runningClient();
    if (!client) {
      return undefined;
    }
    const cancel = new vscode.CancellationTokenSource();
    const timer = setTimeout(() => cancel.cancel(), STATUS_TIMEOUT_MS);
    try {
      // `{}` rather than no params: pygls rejects a request message without a params member.
      const answer = await client.sendRequest<unknown>(STATUS_METHOD, {}, cancel.token);
      this.onStatus(client, answer);
      return toServerStatus(answer);
    } catch (err) {
      this.log(`texcite/status: ${String(err)}`);
      return undefined;
    } finally {
      clearTimeout(timer);
      cancel.dispose();
    }
  }

  dispose(): void {
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
    }
    void this.client?.dispose(2000);
    this.client = undefined;
    for (const d of [...this.clientDisposables.splice(0), this.changed, this.failed, this.setupNeeded, this.output]) {
      d.dispose();
    }
  }
}
