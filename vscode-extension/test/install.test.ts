import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveServerCommand } from '../src/command';
import { checkInstallation } from '../src/install';

const posix = process.platform !== 'win32';

/** A fake interpreter: a shell script that prints `out` to stdout/stderr and exits with `code`. */
function fakePython(stdout: string, stderr: string, code: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'texcite-py-'));
  const path = join(dir, 'python');
  writeFileSync(path, `#!/bin/sh\nprintf '%s' '${stdout}'\nprintf '%s' '${stderr}' >&2\nexit ${code}\n`);
  chmodSync(path, 0o755);
  return path;
}

test('a missing interpreter is reported as such', async () => {
  const server = resolveServerCommand({ platform: process.platform, pythonPathSetting: '/nonexistent/texcite-test/python' });
  const r = await checkInstallation(server, process.platform);
  assert.ok(r && !r.ok);
  if (r && !r.ok) assert.equal(r.problem, 'interpreter-missing');
});

test('a custom command without "serve" is not checked', async () => {
  const server = resolveServerCommand({ platform: process.platform, commandSetting: ['docker', 'run', '-i', 'texcite'] });
  assert.equal(await checkInstallation(server, process.platform), undefined);
});

test('the version check runs the interpreter', { skip: !posix }, async () => {
  const good = resolveServerCommand({ platform: 'linux', pythonPathSetting: fakePython('texcite 0.1.0\\n', '', 0) });
  assert.deepEqual(await checkInstallation(good, 'linux'), { ok: true, version: [0, 1, 0] });

  const old = resolveServerCommand({ platform: 'linux', pythonPathSetting: fakePython('texcite 0.0.3\\n', '', 0) });
  const r1 = await checkInstallation(old, 'linux');
  assert.ok(r1 && !r1.ok && r1.problem === 'too-old');

  const missing = fakePython('', '/usr/bin/python3: No module named texcite\\n', 1);
  const r2 = await checkInstallation(resolveServerCommand({ platform: 'linux', pythonPathSetting: missing }), 'linux');
  assert.ok(r2 && !r2.ok);
  if (r2 && !r2.ok) {
    assert.equal(r2.problem, 'not-installed');
    assert.equal(r2.pipCommand, `${missing} -m pip install 'texcite[hybrid]'`);
  }
});

// The repository's own virtualenv (made by `make install`), when there is one: the real `texcite --version`.
const venvPython = join(__dirname, '..', '..', '..', '.venv', 'bin', 'python');
test('the real texcite installation passes the check', { skip: !posix || !existsSync(venvPython) }, async () => {
  const r = await checkInstallation(resolveServerCommand({ platform: 'linux', pythonPathSetting: venvPython }), 'linux');
  assert.ok(r?.ok, JSON.stringify(r));
});
