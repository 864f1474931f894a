/**
 * Wiring: start the texcite language server, the commands, the status bar item and settings changes.
 */
import * as vscode from 'vscode';
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import { ServerCommand, formatCommandLine, resolveServerCommand } from './command';
import { checkInstallation } from './install';
import { citeEdit } from './insert';
import { STATUS_METHOD, SUGGEST_REQUEST, ServerStatus, SuggestParams, SuggestResult } from './protocol';
import { activeInterpreter, onInterpreterChange } from './python';
import { SECTION, needsRestart, serverSettings } from './settings';
import { ClientState, isServerStatus, statusBarLook, statusLines } from './status';
import { SuggestionItem, suggestionItems } from './suggest';
import { CheckResult, checkNotification } from './version';

const CLIENT_ID = 'texcite';
const LANGUAGES = ['latex', 'tex', 'bibtex'];
const CITE_LANGUAGES = ['latex', 'tex'];
const STATUS_TIMEOUT_MS = 5000;
const DOCUMENT_SELECTOR = LANGUAGES.flatMap((language) => [
  { scheme: 'file', language },
  { scheme: 'untitled', language },
]);

type Failure = Exclude<CheckResult, { ok: true }>;

class Texcite implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private clientState: ClientState = 'starting';
  private status: ServerStatus | undefined;
  private failure: Failure | undefined;
  private server: ServerCommand | undefined;
  private queue: Promise<void> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  /** Disposed with the current client (file watcher). */
  private clientDisposables: vscode.Disposable[] = [];
  private readonly output: vscode.OutputChannel;
  private readonly statusBar: vscode.StatusBarItem;

  constructor() {
    this.output = vscode.window.createOutputChannel('texcite');
    this.statusBar = vscode.window.createStatusBarItem('texcite.status', vscode.StatusBarAlignment.Right, 100);
    this.statusBar.name = 'texcite';
    this.statusBar.command = 'texcite.showStatus';
    this.disposables.push(this.output, this.statusBar);
    this.render();
    this.statusBar.show();
  }

  register(context: vscode.ExtensionContext): void {
    context.subscriptions.push(
      this,
      vscode.commands.registerCommand('texcite.restart', () => this.restart()),
      vscode.commands.registerCommand('texcite.showStatus', () => this.showStatus()),
      vscode.commands.registerCommand('texcite.suggestHere', () => this.suggestHere()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (needsRestart((s) => e.affectsConfiguration(s))) {
          this.scheduleRestart();
        }
      }),
    );
    void onInterpreterChange(() => {
      if (this.server?.source === 'python-extension' || this.server?.source === 'default') {
        this.scheduleRestart();
      }
    }).then((d) => context.subscriptions.push(d));
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

  private scheduleRestart(): void {
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
    }
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart();
    }, 500);
  }

  private log(line: string): void {
    this.output.appendLine(line);
  }

  private setState(state: ClientState): void {
    this.clientState = state;
    this.render();
  }

  private render(): void {
    const look = statusBarLook(this.clientState, this.status);
    this.statusBar.text = look.text;
    this.statusBar.tooltip = look.tooltip;
    this.statusBar.backgroundColor = look.background ? new vscode.ThemeColor(look.background) : undefined;
  }

  private workspaceFolder(): vscode.WorkspaceFolder | undefined {
    const doc = vscode.window.activeTextEditor?.document;
    return (doc && vscode.workspace.getWorkspaceFolder(doc.uri)) ?? vscode.workspace.workspaceFolders?.[0];
  }

  private async resolveCommand(): Promise<ServerCommand> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const commandSetting = config.get<unknown>('server.command');
    const pythonPathSetting = config.get<unknown>('server.pythonPath');
    const folder = this.workspaceFolder();
    const first = resolveServerCommand({
      commandSetting,
      pythonPathSetting,
      platform: process.platform,
      homeDir: process.env.HOME ?? process.env.USERPROFILE,
      workspaceFolder: folder?.uri.fsPath,
    });
    if (first.source !== 'default') {
      return first;
    }
    const pythonExtensionPath = await activeInterpreter(folder?.uri);
    return resolveServerCommand({ commandSetting, pythonPathSetting, pythonExtensionPath, platform: process.platform });
  }

  private async doStart(): Promise<void> {
    this.status = undefined;
    this.failure = undefined;
    this.setState('starting');
    const server = await this.resolveCommand();
    this.server = server;
    const cwd = this.workspaceFolder()?.uri.fsPath;
    this.log(`Server command (${server.source}): ${formatCommandLine(server.command, server.args, process.platform)}`);

    const check = await checkInstallation(server, process.platform, cwd);
    if (check && !check.ok) {
      this.failure = check;
      this.log(`Installation check failed: ${check.message}\n${check.detail}`);
      this.setState('not-installed');
      void this.showFailure(check);
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
    client.onNotification(STATUS_METHOD, (params: unknown) => this.onStatus(params));
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
      void vscode.window
        .showErrorMessage(`texcite: the language server failed to start (${String(err)}).`, 'Show Output', 'Open Settings')
        .then((pick) => this.onButton(pick));
      return;
    }
    // Not awaited: a server that never answers must not hold up restarts and shutdown.
    void this.pollStatus(client);
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
    this.status = undefined;
    this.setState('stopped');
  }

  private onStatus(params: unknown): void {
    if (isServerStatus(params)) {
      this.status = params;
      this.render();
    }
  }

  private async pollStatus(client: LanguageClient): Promise<ServerStatus | undefined> {
    const cancel = new vscode.CancellationTokenSource();
    const timer = setTimeout(() => cancel.cancel(), STATUS_TIMEOUT_MS);
    try {
      // `{}` rather than no params: pygls rejects a request message without a params member.
      const status = await client.sendRequest<unknown>(STATUS_METHOD, {}, cancel.token);
      if (client === this.client) {
        this.onStatus(status);
      }
      return isServerStatus(status) ? status : undefined;
    } catch (err) {
      this.log(`texcite/status: ${String(err)}`);
      return undefined;
    } finally {
      clearTimeout(timer);
      cancel.dispose();
    }
  }

  private async onButton(pick: string | undefined, pipCommand?: string): Promise<void> {
    if (pick === 'Copy pip command' && pipCommand) {
      await vscode.env.clipboard.writeText(pipCommand);
      void vscode.window.showInformationMessage(
        `Copied "${pipCommand}". Run it in a terminal, then run "texcite: Restart Server".`,
      );
    } else if (pick === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'texcite.server');
    } else if (pick === 'Show Output') {
      this.output.show(true);
    } else if (pick === 'Restart') {
      await this.restart();
    }
  }

  private async showFailure(failure: Failure): Promise<void> {
    const buttons = failure.pipCommand ? ['Copy pip command', 'Open Settings', 'Show Output'] : ['Open Settings', 'Show Output'];
    const pick = await vscode.window.showErrorMessage(checkNotification(failure), ...buttons);
    await this.onButton(pick, failure.pipCommand);
  }

  private async showStatus(): Promise<void> {
    if (this.failure) {
      return this.showFailure(this.failure);
    }
    const client = this.client;
    if (!client || !client.isRunning()) {
      const pick = await vscode.window.showWarningMessage('texcite: the language server is not running.', 'Restart', 'Show Output');
      return this.onButton(pick);
    }
    const status = (await this.pollStatus(client)) ?? this.status;
    type Item = vscode.QuickPickItem & { action?: string };
    const items: Item[] = [];
    if (status) {
      items.push(...statusLines(status).map((label) => ({ label })));
      if (status.bibFiles?.length) {
        items.push({ label: '.bib files', kind: vscode.QuickPickItemKind.Separator });
        items.push(...status.bibFiles.map((file) => ({ label: `$(file) ${file}` })));
      }
    } else {
      items.push({ label: 'The server did not report a status.' });
    }
    items.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
    items.push(
      { label: '$(debug-restart) Restart Server', action: 'Restart' },
      { label: '$(output) Show Output', action: 'Show Output' },
      { label: '$(settings-gear) Open Settings', action: 'Open Settings' },
    );
    const pick = await vscode.window.showQuickPick(items, { title: 'texcite status' });
    if (pick?.action) {
      await this.onButton(pick.action);
    }
  }

  private async suggest(
    client: LanguageClient,
    document: vscode.TextDocument,
    position: vscode.Position,
    token?: vscode.CancellationToken,
  ): Promise<SuggestResult> {
    const params: SuggestParams = {
      textDocument: { uri: client.code2ProtocolConverter.asUri(document.uri) },
      position: { line: position.line, character: position.character },
    };
    return client.sendRequest<SuggestResult>(SUGGEST_REQUEST, params, token);
  }

  private async suggestHere(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('texcite: open a LaTeX file to get citation suggestions.');
      return;
    }
    if (!CITE_LANGUAGES.includes(editor.document.languageId)) {
      void vscode.window.showInformationMessage('texcite: "Cite Here" works in LaTeX files.');
      return;
    }
    const client = this.client;
    if (!client || !client.isRunning()) {
      return this.showStatus();
    }
    const document = editor.document;
    const position = editor.selection.active;
    const version = document.version;

    const cancel = new vscode.CancellationTokenSource();
    const pick = vscode.window.createQuickPick<SuggestionItem>();
    pick.title = 'texcite: cite here';
    pick.placeholder = 'Ranking the bibliography against this paragraph…';
    pick.matchOnDescription = true;
    pick.matchOnDetail = true;
    pick.busy = true;
    pick.show();

    let result: SuggestResult;
    try {
      const hidden = new Promise<undefined>((resolve) => pick.onDidHide(() => resolve(undefined)));
      const answer = await Promise.race([this.suggest(client, document, position, cancel.token), hidden]);
      if (answer === undefined) {
        cancel.cancel();
        pick.dispose();
        return;
      }
      result = answer;
    } catch (err) {
      pick.dispose();
      void vscode.window.showErrorMessage(`texcite: suggestions failed (${err instanceof Error ? err.message : String(err)}).`);
      return;
    } finally {
      cancel.dispose();
    }
    if (!result || !Array.isArray(result.suggestions) || result.suggestions.length === 0) {
      pick.dispose();
      void vscode.window.showInformationMessage('texcite: no suggestions (no .bib entries indexed for this document?).');
      return;
    }
    pick.items = suggestionItems(result.suggestions);
    pick.placeholder = result.query ? `Citations for: ${result.query.slice(0, 120)}` : 'Pick a citation';
    pick.busy = false;

    const chosen = await new Promise<SuggestionItem | undefined>((resolve) => {
      pick.onDidAccept(() => resolve(pick.selectedItems[0]));
      pick.onDidHide(() => resolve(undefined));
    });
    pick.dispose();
    if (!chosen) {
      return;
    }
    await this.insertKey(client, editor, document, position, version, result, chosen.key);
  }

  private async insertKey(
    client: LanguageClient,
    editor: vscode.TextEditor,
    document: vscode.TextDocument,
    position: vscode.Position,
    version: number,
    result: SuggestResult,
    key: string,
  ): Promise<void> {
    let cite = result.cite;
    if (document.version !== version) {
      // The document changed while the list was open: ask again where the citation's key list is now.
      try {
        cite = (await this.suggest(client, document, position)).cite;
      } catch {
        void vscode.window.showWarningMessage('texcite: the document changed; run "texcite: Cite Here" again.');
        return;
      }
    }
    const listText = cite ? document.getText(client.protocol2CodeConverter.asRange(cite.range)) : '';
    const outcome = citeEdit(key, cite, listText, { line: position.line, character: position.character });
    if (outcome.kind === 'duplicate') {
      void vscode.window.showInformationMessage(`texcite: "${key}" is already cited here.`);
      return;
    }
    const range = client.protocol2CodeConverter.asRange(outcome.edit.range);
    let applied: boolean;
    if (vscode.window.visibleTextEditors.includes(editor)) {
      applied = await editor.edit((b) => b.replace(range, outcome.edit.newText));
    } else {
      const edit = new vscode.WorkspaceEdit();
      edit.replace(document.uri, range, outcome.edit.newText);
      applied = await vscode.workspace.applyEdit(edit);
    }
    if (!applied) {
      void vscode.window.showWarningMessage(`texcite: could not insert "${key}".`);
    }
  }

  dispose(): void {
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
    }
    void this.client?.dispose(2000);
    this.client = undefined;
    for (const d of [...this.clientDisposables, ...this.disposables]) {
      d.dispose();
    }
  }

  /** For deactivate(): stop the server and wait for it. */
  async stop(): Promise<void> {
    await this.enqueue(() => this.doStop());
  }
}

let instance: Texcite | undefined;

export function activate(context: vscode.ExtensionContext): void {
  instance = new Texcite();
  instance.register(context);
  void instance.start();
}

export async function deactivate(): Promise<void> {
  await instance?.stop();
  instance = undefined;
}
