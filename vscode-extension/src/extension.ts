/**
 * Activation: create the pieces and wire them together; each one lives in its own module.
 *
 *   python.ts  the Python extension's interpreter       server.ts  the language client and its lifecycle
 *   status.ts  status bar item and status QuickPick     cite.ts    the "Cite Here" command
 *   settings.ts what the settings say and when to restart
 *   setup.ts   setting texcite up in a private environment (environment.ts: where it lives, which Python makes it)
 */
import * as vscode from 'vscode';
import { CiteHere } from './cite';
import { environmentDir } from './environment';
import { PythonInterpreter } from './python';
import { TexciteServer } from './server';
import { needsRestart } from './settings';
import { PrivateEnvironment } from './setup';
import { StatusUi } from './status';

let server: TexciteServer | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const python = new PythonInterpreter();
  const environment = environmentDir(context.globalStorageUri.fsPath, process.platform);
  const texcite = new TexciteServer(python, environment);
  const setup = new PrivateEnvironment(environment, texcite, python);
  const status = new StatusUi(texcite);
  const cite = new CiteHere(texcite);
  server = texcite;
  context.subscriptions.push(
    python,
    texcite,
    setup,
    status,
    vscode.commands.registerCommand('texcite.setUp', () => setup.setUp()),
    vscode.commands.registerCommand('texcite.restart', () => texcite.restart()),
    vscode.commands.registerCommand('texcite.showStatus', () => status.show()),
    vscode.commands.registerCommand('texcite.suggestHere', () => cite.run()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (needsRestart((section) => e.affectsConfiguration(section))) {
        texcite.scheduleRestart();
      }
    }),
    // Trusting the workspace can change the command line (its texcite.server.* values, the Python extension).
    vscode.workspace.onDidGrantWorkspaceTrust(() => texcite.scheduleRestart()),
    python.onDidChangeInterpreter(() => texcite.interpreterChanged()),
  );
  python.initialize();
  void texcite.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
