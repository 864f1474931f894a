import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Modules unit-tested here must not import `vscode` (it exists only inside VS Code).
const PURE = ['command.ts', 'version.ts', 'insert.ts', 'settings.ts', 'status.ts', 'suggest.ts', 'protocol.ts', 'install.ts'];

test('tested modules do not import vscode', () => {
  const src = join(__dirname, '..', '..', 'src');
  for (const file of PURE) {
    const text = readFileSync(join(src, file), 'utf8');
    assert.doesNotMatch(text, /from\s+['"]vscode(-languageclient[^'"]*)?['"]|require\(['"]vscode['"]\)/, file);
  }
});
