/**
 * The status bar item, the status QuickPick ("texcite: Show Status") and the error notifications about the server;
 * and the client feature that keeps the item the only status on screen.
 *
 * What they say comes from the pure statusText.ts; this module only puts it on screen.
 */
import * as vscode from 'vscode';
import type { ClientCapabilities, FeatureState, StaticFeature } from 'vscode-languageclient/node';
import type { InstallFailure, ServerFailure, TexciteServer } from './server';
import { statusBarLook, statusLines } from './statusText';
import { checkNotification } from './version';

/**
 * Tells the server that this client shows no `$/progress` (`window.workDoneProgress: false`), so that VS Code does
 * not show the server's progress as a second status item: the status bar item says what loads, with counts.
 */
export class NoWorkDoneProgress implements StaticFeature {
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    (capabilities.window ??= {}).workDoneProgress = false;
  }

  initialize(): void {}

  getState(): FeatureState {
    return { kind: 'static' };
  }

  clear(): void {}
}

type Action = 'Copy pip command' | 'Open Settings' | 'Show Output' | 'Restart';

export class StatusUi implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly server: TexciteServer) {
    this.item = vscode.window.createStatusBarItem('texcite.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'texcite';
    this.item.command = 'texcite.showStatus';
    this.disposables.push(
      this.item,
      server.onDidChange(() => this.render()),
      server.onDidFail((failure) => void this.showFailure(failure)),
    );
    this.render();
    this.item.show();
  }

  private render(): void {
    const look = statusBarLook(this.server.state, this.server.status);
    this.item.text = look.text;
    this.item.tooltip = look.tooltip;
    this.item.backgroundColor = look.background ? new vscode.ThemeColor(look.background) : undefined;
  }

  /** The command `texcite.showStatus`: the failure if the server could not start, else the status QuickPick. */
  async show(): Promise<void> {
    const failure = this.server.failure;
    if (failure) {
      return this.showFailure({ kind: 'check', check: failure });
    }
    if (!this.server.runningClient()) {
      const pick = await vscode.window.showWarningMessage('texcite: the language server is not running.', 'Restart', 'Show Output');
      return this.act(pick as Action | undefined);
    }
    const status = (await this.server.requestStatus()) ?? this.server.status;
    type Item = vscode.QuickPickItem & { action?: Action };
    const items: Item[] = [];
    if (status) {
      items.push(...statusLines(status).map((label) => ({ label })));
      if (status.bibFiles.length) {
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
    await this.act(pick?.action);
  }

  private async showFailure(failure: ServerFailure): Promise<void> {
    if (failure.kind === 'start') {
      const pick = await vscode.window.showErrorMessage(
        `texcite: the language server failed to start (${failure.error}).`,
        'Show Output',
        'Open Settings',
      );
      return this.act(pick as Action | undefined);
    }
    const check: InstallFailure = failure.check;
    const buttons: Action[] = check.pipCommand
      ? ['Copy pip command', 'Open Settings', 'Show Output']
      : ['Open Settings', 'Show Output'];
    const pick = await vscode.window.showErrorMessage(checkNotification(check), ...buttons);
    await this.act(pick, check.pipCommand);
  }

  private async act(action: Action | undefined, pipCommand?: string): Promise<void> {
    if (action === 'Copy pip command' && pipCommand) {
      await vscode.env.clipboard.writeText(pipCommand);
      void vscode.window.showInformationMessage(
        `Copied "${pipCommand}". Run it in a terminal, then run "texcite: Restart Server".`,
      );
    } else if (action === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'texcite.server');
    } else if (action === 'Show Output') {
      this.server.showOutput();
    } else if (action === 'Restart') {
      await this.server.restart();
    }
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) {
      d.dispose();
    }
  }
}
