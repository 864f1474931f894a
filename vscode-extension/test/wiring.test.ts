// The extension's wiring against a fake `vscode` module and a fake texcite server (no VS Code needed).
import { fake } from './fixtures/hook';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
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

/** An ExtensionContext with a fresh global storage folder (where the private environment would go). */
function newContext() {
  return {
    subscriptions: [] as { dispose(): void }[],
    globalStorageUri: fake.Uri.file(mkdtempSync(join(tmpdir(), 'texcite-storage-'))),
  };
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
  const context = newContext();
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
  const context = newContext();
  extension.activate(context as never);
  const bar = state.statusItems[state.statusItems.length - 1];
  await until('not installed', () => bar.text === '$(error) texcite: not installed');
  const errors = state.messages.filter((m: { level: string }) => m.level === 'error');
  assert.equal(errors.length, 1);
  assert.match(errors[0].text, /^texcite is not installed for .*python\. Install it with: .*python -m pip install 'texcite\[hybrid\]' /);
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
    /** Change the interpreter without the change event. */
    set(path: string) {
      active = path;
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
  const context = newContext();
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
    let context = newContext();
    extension.activate(context as never);
    const errors = () => state.messages.filter((m: { level: string }) => m.level === 'error').map((m: { text: string }) => m.text);
    await until('interpreter missing', () => errors().length === 1);
    assert.match(errors()[0], /"\$\{workspaceFolder\}\/\.venv\/bin\/python" was not found/);
    await extension.deactivate();
    for (const d of context.subscriptions) d.dispose();

    // a user-level interpreter still runs, but from the home folder (`python -m` imports from its working directory)
    const python = pythonWithoutTexcite();
    state.config = { 'texcite.server.pythonPath': python, 'texcite.server.command': [] };
    context = newContext();
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

/**
 * A fake system Python (`-c` probe: `version`, venv available) without texcite. Its `-m venv DIR` makes a fake
 * environment whose python records what `-m pip install` gets, then has texcite: `-m texcite --version` answers and
 * `-m texcite serve` runs the fake server.
 */
function fakeSystemPython(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'texcite-syspy-'));
  writeFileSync(
    join(dir, 'env-python'),
    `#!/bin/sh
PATH=/usr/bin:/bin
here="$(dirname "$0")/.."
case "$*" in
  "-m pip install"*) shift 3; echo "Collecting $*"; echo "$*" > "$here/pip-args"; touch "$here/installed"; echo "Successfully installed texcite-0.1.0";;
  "-m texcite --version") if [ -f "$here/installed" ]; then echo "texcite 0.1.0"; else echo "$0: No module named texcite" >&2; exit 1; fi;;
  "-m texcite serve"*) exec "${process.execPath}" "${fakeServer}" serve;;
  *) echo "unexpected: $*" >&2; exit 2;;
esac
`,
  );
  const python = join(dir, 'python');
  writeFileSync(
    python,
    `#!/bin/sh
PATH=/usr/bin:/bin
case "$1" in
  -c) printf 'python ${version}\\nvenv yes\\n';;
  -m) if [ "$2" = venv ]; then mkdir -p "$3/bin" && cp "$(dirname "$0")/env-python" "$3/bin/python" && chmod +x "$3/bin/python"; else echo "$0: No module named $2" >&2; exit 1; fi;;
esac
`,
  );
  chmodSync(python, 0o755);
  return python;
}

/** Answer the error notifications with `answer(text, buttons)` (they are recorded in state.messages as before). */
function answerErrors(answer: (text: string, buttons: string[]) => string | undefined): () => void {
  const original = fake.window.showErrorMessage;
  fake.window.showErrorMessage = async (text: string, ...buttons: string[]) => {
    await original(text, ...buttons);
    return answer(text, buttons);
  };
  return () => {
    fake.window.showErrorMessage = original;
  };
}

/** PATH without any Python (the set-up must not find this machine's own). */
function withoutPythonOnPath(): () => void {
  const saved = process.env.PATH;
  process.env.PATH = mkdtempSync(join(tmpdir(), 'texcite-emptypath-'));
  return () => {
    process.env.PATH = saved;
  };
}

test('no texcite: the offer sets up the private environment, the server starts from it, and next time too', { skip: process.platform === 'win32' }, async () => {
  const state = fake.__state;
  state.messages.length = 0;
  const system = fakeSystemPython('3.12.4');
  const py = fakePythonExtension(system);
  state.extensions['ms-python.python'] = py.extension;
  state.config = {
    'texcite.server.pythonPath': '',
    'texcite.server.command': [],
    'texcite.install.pipArgs': ['/wheels/texcite-0.1.0-py3-none-any.whl[hybrid]'],
  };
  const restorePath = withoutPythonOnPath();
  const restoreErrors = answerErrors((_text, buttons) => (buttons.includes('Set Up') ? 'Set Up' : undefined));
  try {
    let context = newContext();
    extension.activate(context as never);
    const bar = state.statusItems[state.statusItems.length - 1];
    await until('the server from the private environment', () => bar.text === '$(book) texcite: BM25 + MiniLM');

    const errors = state.messages.filter((m: { level: string }) => m.level === 'error');
    assert.equal(errors.length, 1);
    assert.equal(
      errors[0].text,
      `texcite is not installed for ${system}. Set it up in a private environment? The extension makes a Python ` +
        'virtual environment in its own storage and runs "pip install /wheels/texcite-0.1.0-py3-none-any.whl[hybrid]" ' +
        'in it (a few hundred MB).',
    );
    assert.deepEqual(errors[0].buttons, ['Set Up', 'Open Settings', 'Show Output']);
    const venv = join(context.globalStorageUri.fsPath, 'venv');
    assert.equal(readFileSync(join(venv, 'pip-args'), 'utf8'), '--disable-pip-version-check /wheels/texcite-0.1.0-py3-none-any.whl[hybrid]\n');
    const infos = state.messages.filter((m: { level: string }) => m.level === 'info').map((m: { text: string }) => m.text);
    assert.deepEqual(infos, [`texcite is set up in ${venv}.`]);
    const log = state.outputs[state.outputs.length - 1].lines.join('\n');
    assert.match(log, new RegExp(`Python 3\\.12\\.4: ${system}\n`));
    assert.match(log, new RegExp(`> ${system} -m venv ${venv}\n`));
    assert.match(log, /Collecting --disable-pip-version-check \/wheels\/texcite-0\.1\.0-py3-none-any\.whl\[hybrid\]\n/);
    assert.match(log, new RegExp(`Server command \\(private-environment\\): ${venv}/bin/python -m texcite serve\n`));
    await extension.deactivate();
    for (const d of context.subscriptions) d.dispose();

    // the next start finds the environment first: no offer, no set-up
    const storage = context.globalStorageUri;
    context = { ...newContext(), globalStorageUri: storage };
    extension.activate(context as never);
    const bar2 = state.statusItems[state.statusItems.length - 1];
    await until('the server from the private environment again', () => bar2.text === '$(book) texcite: BM25 + MiniLM');
    assert.equal(state.messages.filter((m: { level: string }) => m.level === 'error').length, 1);
    const log2 = state.outputs[state.outputs.length - 1].lines.join('\n');
    assert.match(log2, new RegExp(`^Server command \\(private-environment\\): ${venv}/bin/python -m texcite serve$`, 'm'));
    assert.doesNotMatch(log2, /Setting texcite up/);
    await extension.deactivate();
    for (const d of context.subscriptions) d.dispose();
  } finally {
    restoreErrors();
    restorePath();
    delete state.extensions['ms-python.python'];
  }
});

test('no Python 3.11: the set-up says so, makes nothing, and a retry with a newer one works', { skip: process.platform === 'win32' }, async () => {
  const state = fake.__state;
  state.messages.length = 0;
  const old = fakeSystemPython('3.10.14');
  const py = fakePythonExtension(old);
  state.extensions['ms-python.python'] = py.extension;
  state.config = { 'texcite.server.pythonPath': '', 'texcite.server.command': [] };
  const restorePath = withoutPythonOnPath();
  let retried = false;
  const restoreErrors = answerErrors((_text, buttons) => {
    if (buttons.includes('Set Up')) return 'Set Up';
    if (buttons.includes('Retry') && !retried) {
      retried = true;
      py.set(fakeSystemPython('3.11.9')); // the user installs a newer Python and selects it, then retries
      return 'Retry';
    }
    return undefined;
  });
  try {
    const context = newContext();
    extension.activate(context as never);
    const bar = state.statusItems[state.statusItems.length - 1];
    await until('the server after the retry', () => bar.text === '$(book) texcite: BM25 + MiniLM');
    const errors = state.messages.filter((m: { level: string }) => m.level === 'error');
    assert.equal(errors.length, 2);
    assert.match(errors[0].text, /^texcite is not installed for .*\. Set it up in a private environment\? .* runs "pip install texcite\[hybrid\]" in it/);
    assert.equal(
      errors[1].text,
      `texcite: No Python 3.11 or newer was found to set texcite up (tried ${old} (3.10.14, too old), python3 (not found), ` +
        'python3.13 (not found), python3.12 (not found), python3.11 (not found), python (not found)). Install Python 3.11 ' +
        'or newer, or select one with the Python extension, then retry.',
    );
    assert.deepEqual(errors[1].buttons, ['Retry', 'Show Output']);
    const venv = join(context.globalStorageUri.fsPath, 'venv');
    assert.equal(readFileSync(join(venv, 'pip-args'), 'utf8'), '--disable-pip-version-check texcite[hybrid]\n');
    await extension.deactivate();
    for (const d of context.subscriptions) d.dispose();
  } finally {
    restoreErrors();
    restorePath();
    delete state.extensions['ms-python.python'];
  }
});

test('texcite: Set Up Private Environment while texcite.server.pythonPath names another interpreter says which wins', { skip: process.platform === 'win32' }, async () => {
  const state = fake.__state;
  state.messages.length = 0;
  const py = fakePythonExtension(fakeSystemPython('3.13.1'));
  state.extensions['ms-python.python'] = py.extension;
  const chosen = pythonWithoutTexcite();
  state.config = { 'texcite.server.pythonPath': chosen, 'texcite.server.command': [] };
  const restorePath = withoutPythonOnPath();
  try {
    const context = newContext();
    extension.activate(context as never);
    const messages = (level: string) =>
      state.messages.filter((m: { level: string }) => m.level === level).map((m: { text: string }) => m.text);
    // an interpreter the settings chose gets the pip command, not the offer
    await until('the pip advice', () => messages('error').length === 1);
    assert.match(messages('error')[0], /^texcite is not installed for .*python\. Install it with: /);
    await fake.commands.executeCommand('texcite.setUp');
    const venv = join(context.globalStorageUri.fsPath, 'venv');
    assert.deepEqual(messages('info'), [
      `texcite is set up in ${venv}, but the setting texcite.server.pythonPath chooses the server: clear it to use the environment.`,
    ]);
    assert.equal(messages('error').length, 2); // the restart checked the chosen interpreter again
    await extension.deactivate();
    for (const d of context.subscriptions) d.dispose();
  } finally {
    restorePath();
    delete state.extensions['ms-python.python'];
  }
});
