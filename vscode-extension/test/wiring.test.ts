// The extension's wiring against a fake `vscode` module and a fake texcite server (no VS Code needed).
import { fake } from './fixtures/hook';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as extension from '../src/extension';

const fakeServer = join(__dirname, '..', '..', 'test', 'fixtures', 'fake-server.js');

/** A fake interpreter without texcite: it says where it runs, then "No module named texcite". */
function pythonWithoutTexcite(): string {
  const dir = mkdtempSync(join(tmpdir(), 'texcite-nopy-'));
  const python = join(dir, 'python');
  writeFileSync(python, '#!/bin/sh\necho "cwd=$(pwd)" >&2\necho "$0: No module named texcite" >&2\nexit 1\n');
  chmodSync(python, 0o755);
  return python;
}

async function until(what: string, check: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('starts the server, shows its status in one item, sends settings and inserts a picked key', async () => {
  const state = fake.__state;
  state.config = {
    'texcite.server.command': [process.execPath, fakeServer, 'serve'],
    'texcite.server.pythonPath': '',
    'texcite.trace.server': 'off',
    'texcite.completion.maxItems': 7,
    'texcite.reranker.backend': 'none',
  };
  const context = { subscriptions: [] as { dispose(): void }[] };
  extension.activate(context as never);
  const bar = state.statusItems[0];
  await until('hybrid ready', () => bar.text === '$(book) texcite: BM25 + MiniLM');
  // one status item: it counted the entries while MiniLM embedded; the server's $/progress was not asked for
  assert.ok(bar.texts.includes('$(sync~spin) texcite: BM25 (MiniLM 1/3 entries)'), bar.texts.join('\n'));
  assert.deepEqual(state.progress, []);
  assert.equal(bar.command, 'texcite.showStatus');
  assert.equal(bar.backgroundColor, undefined);
  assert.match(bar.tooltip, /^Ranking: BM25 \+ MiniLM\n/);
  assert.match(bar.tooltip, /\nIndexed entries: 3 from 1 \.bib file\nLast ranking: 12 ms\n  \/w\/refs\.bib$/);
  assert.doesNotMatch(bar.tooltip, /Reranker/);

  // initializationOptions (the fake server's status message): nested server settings without the client-only ones
  const init = JSON.parse(/\n(\{[^\n]*\})\n/.exec(bar.tooltip)![1]);
  assert.deepEqual(init, { completion: { maxItems: 7 }, reranker: { backend: 'none' } });

  // Cite Here: the fake server puts the cursor in `\cite{a}` (key list at 0:10-0:11)
  const uri = fake.Uri.file('/w/paper.tex');
  const text = 'See \\cite{a} for more.';
  const document = {
    uri, languageId: 'latex', version: 1, isClosed: false, lineCount: 1,
    getText: (r: { start: { character: number }; end: { character: number } }) =>
      r ? text.slice(r.start.character, r.end.character) : text,
  };
  const edits: { range: unknown; text: string }[] = [];
  const editor = {
    document,
    selection: { active: new fake.Position(0, 9) },
    edit: async (cb: (b: { replace(r: unknown, t: string): void }) => void) => {
      cb({ replace: (range, t) => edits.push({ range, text: t }) });
      return true;
    },
  };
  fake.window.activeTextEditor = editor;
  fake.window.visibleTextEditors = [editor];
  await fake.commands.executeCommand('texcite.suggestHere');
  const qp = state.quickPicks[0];
  assert.deepEqual(
    qp.items.map((i: { label: string; description: string; detail: string }) => [i.label, i.description, i.detail]),
    [
      ['Attention Is All You Need', 'vaswani2017 · 100', 'Vaswani et al. · 2017 · NeurIPS — cited together with bahdanau2015'],
      ['Neural Machine Translation', 'bahdanau2015 · 72', 'Bahdanau · 2015 · ICLR'],
    ],
  );
  assert.equal(edits.length, 1);
  assert.equal(edits[0].text, ', vaswani2017');
  assert.deepEqual(JSON.parse(JSON.stringify(edits[0].range)), {
    start: { line: 0, character: 11 },
    end: { line: 0, character: 11 },
  });
  const log = state.outputs[0].lines.join('\n');
  assert.match(log, /suggest \{"textDocument":\{"uri":"file:\/\/\/w\/paper.tex"\},"position":\{"line":0,"character":9\}\}/);

  // outside a citation after a word: a new citation, tied with ~
  const text2 = 'Transformers are faster';
  const document2 = { ...document, version: 1, getText: (r: { start: { character: number }; end: { character: number } }) =>
    r ? text2.slice(r.start.character, r.end.character) : text2 };
  const editor2 = { ...editor, document: document2, selection: { active: new fake.Position(0, 23) } };
  fake.window.activeTextEditor = editor2;
  fake.window.visibleTextEditors = [editor2];
  await fake.commands.executeCommand('texcite.suggestHere');
  assert.equal(edits.length, 2);
  assert.equal(edits[1].text, '~\\cite{vaswani2017}');
  assert.deepEqual(JSON.parse(JSON.stringify(edits[1].range)), {
    start: { line: 0, character: 23 },
    end: { line: 0, character: 23 },
  });

  // a restart starts a fresh server and the status comes back
  await fake.commands.executeCommand('texcite.restart');
  await until('status after restart', () => bar.text === '$(book) texcite: BM25 + MiniLM');
  assert.deepEqual(state.messages.filter((m: { level: string }) => m.level === 'error'), []);

  await extension.deactivate();
  assert.equal(bar.text, '$(error) texcite: stopped');
});

test('a missing texcite gives one error with the pip command', { skip: process.platform === 'win32' }, async () => {
  const state = fake.__state;
  state.messages.length = 0;
  const python = pythonWithoutTexcite();
  state.config = { 'texcite.server.pythonPath': python, 'texcite.server.command': [] };
  const context = { subscriptions: [] as { dispose(): void }[] };
  extension.activate(context as never);
  const bar = state.statusItems[state.statusItems.length - 1];
  await until('not installed', () => bar.text === '$(error) texcite: not installed');
  const errors = state.messages.filter((m: { level: string }) => m.level === 'error');
  assert.equal(errors.length, 1);
  assert.match(errors[0].text, /^texcite is not installed for .*python\. Install it with: .*python -m pip install texcite /);
  assert.deepEqual(errors[0].buttons, ['Copy pip command', 'Open Settings', 'Show Output']);
  await extension.deactivate();
});

/** A fake ms-python.python whose active interpreter can be changed. */
function fakePythonExtension(initial: string) {
  const changed = new fake.EventEmitter();
  let active = initial;
  let resolved = 0;
  const environments = {
    getActiveEnvironmentPath: () => ({ id: active, path: active }),
    resolveEnvironment: async (env: { path: string }) => {
      resolved++;
      return { executable: { uri: fake.Uri.file(env.path) } };
    },
    onDidChangeActiveEnvironmentPath: changed.event,
  };
  return {
    extension: { id: 'ms-python.python', isActive: true, exports: { environments }, activate: async () => ({ environments }) },
    select(path: string) {
      active = path;
      changed.fire({ id: path, path, resource: undefined });
    },
    resolved: () => resolved,
  };
}

test('the Python extension\'s interpreter runs the server; selecting another restarts it', { skip: process.platform === 'win32' }, async () => {
  const state = fake.__state;
  state.messages.length = 0;
  const first = pythonWithoutTexcite();
  const second = pythonWithoutTexcite();
  const py = fakePythonExtension(first);
  state.extensions['ms-python.python'] = py.extension;
  state.config = { 'texcite.server.pythonPath': '', 'texcite.server.command': [] };
  const context = { subscriptions: [] as { dispose(): void }[] };
  extension.activate(context as never);
  const bar = state.statusItems[state.statusItems.length - 1];
  const errors = () => state.messages.filter((m: { level: string }) => m.level === 'error').map((m: { text: string }) => m.text);
  await until('not installed', () => errors().length === 1);
  assert.match(errors()[0], new RegExp(`^texcite is not installed for ${first}\\.`));
  assert.equal(bar.text, '$(error) texcite: not installed');
  const log = () => state.outputs[state.outputs.length - 1].lines.join('\n');
  assert.match(log(), new RegExp(`Server command \\(python-extension\\): ${first} -m texcite serve`));
  // the check runs in the workspace folder
  assert.match(log(), new RegExp(`cwd=${realpathSync(fake.workspace.workspaceFolders[0].uri.fsPath)}\n`));

  py.select(second);
  await until('restart on the new interpreter', () => errors().length === 2);
  assert.match(errors()[1], new RegExp(`^texcite is not installed for ${second}\\.`));
  await extension.deactivate();
  for (const d of context.subscriptions) d.dispose();
  delete state.extensions['ms-python.python'];
});

test('Restricted Mode: no Python extension interpreter, no ${workspaceFolder}, not run in the workspace', { skip: process.platform === 'win32' }, async () => {
  const state = fake.__state;
  state.messages.length = 0;
  const py = fakePythonExtension(pythonWithoutTexcite());
  state.extensions['ms-python.python'] = py.extension;
  fake.workspace.isTrusted = false;
  try {
    state.config = { 'texcite.server.pythonPath': '${workspaceFolder}/.venv/bin/python', 'texcite.server.command': [] };
    let context = { subscriptions: [] as { dispose(): void }[] };
    extension.activate(context as never);
    const errors = () => state.messages.filter((m: { level: string }) => m.level === 'error').map((m: { text: string }) => m.text);
    await until('interpreter missing', () => errors().length === 1);
    assert.match(errors()[0], /"\$\{workspaceFolder\}\/\.venv\/bin\/python" was not found/);
    await extension.deactivate();
    for (const d of context.subscriptions) d.dispose();

    // a user-level interpreter still runs, but from the home folder (`python -m` imports from its working directory)
    const python = pythonWithoutTexcite();
    state.config = { 'texcite.server.pythonPath': python, 'texcite.server.command': [] };
    context = { subscriptions: [] };
    extension.activate(context as never);
    await until('not installed', () => errors().length === 2);
    const log = state.outputs[state.outputs.length - 1].lines.join('\n');
    assert.match(log, /Restricted Mode/);
    const cwd = /cwd=([^\n]*)/.exec(log)![1];
    assert.ok([homedir(), realpathSync(homedir())].includes(cwd), cwd);
    assert.equal(py.resolved(), 0);
    await extension.deactivate();
    for (const d of context.subscriptions) d.dispose();
  } finally {
    fake.workspace.isTrusted = true;
    delete state.extensions['ms-python.python'];
  }
});
