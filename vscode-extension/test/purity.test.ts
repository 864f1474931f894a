import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const src = join(__dirname, '..', '..', 'src');
const IMPORTS_VSCODE = /from\s+['"](vscode(-languageclient[^'"]*)?|@vscode\/python-extension)['"]|require\(['"]vscode['"]\)/;

// The modules that talk to VS Code; every other module is pure (it runs and is unit-tested in plain node).
const VSCODE_MODULES = ['extension.ts', 'server.ts', 'python.ts', 'status.ts', 'cite.ts', 'setup.ts'];
// The pure modules as of this layout (a new one is pure unless added to VSCODE_MODULES).
const PURE = ['command.ts', 'version.ts', 'insert.ts', 'settings.ts', 'statusText.ts', 'suggest.ts', 'protocol.ts', 'install.ts', 'environment.ts'];

test('pure modules do not import vscode', () => {
  const files = readdirSync(src).filter((f) => f.endsWith('.ts'));
  for (const file of PURE) {
    assert.ok(files.includes(file), `src/${file} is missing`);
  }
  for (const file of files.filter((f) => !VSCODE_MODULES.includes(f))) {
    assert.doesNotMatch(readFileSync(join(src, file), 'utf8'), IMPORTS_VSCODE, file);
  }
});

test('extension.ts only wires: the language client lives in server.ts', () => {
  const text = readFileSync(join(src, 'extension.ts'), 'utf8');
  assert.doesNotMatch(text, /vscode-languageclient|createStatusBarItem|createQuickPick|showQuickPick/);
  assert.ok(text.split('\n').length < 80, 'extension.ts has grown: move the logic into a module');
});
