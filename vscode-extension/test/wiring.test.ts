// The extension's wiring against a fake `vscode` module and a fake texcite server (no VS Code needed).
import { fake } from './fixtures/hook';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as extension from '../src/extension';

const fakeServer = join(__dirname, '..', '..', 'test', 'fixtures', 'fake-server.js');

async function until(what: string, check: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('starts the server, shows its status, sends settings and inserts a picked key', async () => {
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
  await until('status ready', () => bar.text === '$(book) texcite: ready');
  assert.equal(bar.command, 'texcite.showStatus');

  // initializationOptions: nested server settings without the client-only ones
  const init = JSON.parse(/Reranker: ready.*\n([^\n]*)/.exec(bar.tooltip)![1]);
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
      ['Attention Is All You Need', 'vaswani2017', 'Vaswani et al. · 2017 · NeurIPS'],
      ['Neural Machine Translation', 'bahdanau2015', 'Bahdanau · 2015 · ICLR'],
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

  // a restart starts a fresh server and the status comes back
  await fake.commands.executeCommand('texcite.restart');
  await until('status ready after restart', () => bar.text === '$(book) texcite: ready');
  assert.deepEqual(state.messages.filter((m: { level: string }) => m.level === 'error'), []);

  await extension.deactivate();
  assert.equal(bar.text, '$(error) texcite: stopped');
});

test('a missing texcite gives one error with the pip command', { skip: process.platform === 'win32' }, async () => {
  const state = fake.__state;
  state.messages.length = 0;
  const dir = mkdtempSync(join(tmpdir(), 'texcite-nopy-'));
  const python = join(dir, 'python');
  writeFileSync(python, "#!/bin/sh\necho \"$0: No module named texcite\" >&2\nexit 1\n");
  chmodSync(python, 0o755);
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
