/**
 * The command "texcite: Cite Here": ask the server for the best entries at the cursor, show them in a QuickPick
 * and insert the picked key (the edit itself comes from the pure insert.ts, the items from suggest.ts).
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { citeEdit } from './insert';
import { SUGGEST_REQUEST, SuggestParams, SuggestResult } from './protocol';
import type { TexciteServer } from './server';
import { SuggestionItem, suggestionItems } from './suggest';

const CITE_LANGUAGES = ['latex', 'tex'];

export class CiteHere {
  constructor(private readonly server: TexciteServer) {}

  /** The command `texcite.suggestHere`. */
  async run(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('texcite: open a LaTeX file to get citation suggestions.');
      return;
    }
    if (!CITE_LANGUAGES.includes(editor.document.languageId)) {
      void vscode.window.showInformationMessage('texcite: "Cite Here" works in LaTeX files.');
      return;
    }
    const client = this.server.runningClient();
    if (!client) {
      await vscode.commands.executeCommand('texcite.showStatus');
      return;
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
      const answer = await Promise.race([suggest(client, document, position, cancel.token), hidden]);
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
    await insertKey(client, editor, document, position, version, result, chosen.key);
  }
}

function suggest(
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

/** The character before `position` on its line, '' at the start of the line. */
function charBefore(document: vscode.TextDocument, position: vscode.Position): string {
  if (position.character === 0) {
    return '';
  }
  return document.getText(new vscode.Range(position.line, position.character - 1, position.line, position.character));
}

async function insertKey(
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
      cite = (await suggest(client, document, position)).cite;
    } catch {
      void vscode.window.showWarningMessage('texcite: the document changed; run "texcite: Cite Here" again.');
      return;
    }
  }
  const listText = cite ? document.getText(client.protocol2CodeConverter.asRange(cite.range)) : '';
  const before = cite ? '' : charBefore(document, position);
  const outcome = citeEdit(key, cite, listText, { line: position.line, character: position.character }, { before });
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
