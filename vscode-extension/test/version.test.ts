import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkNotification, compareVersions, interpretCheck, parseVersion, pipInstallCommand } from '../src/version';

test('parses the version line', () => {
  assert.deepEqual(parseVersion('texcite 0.1.0\n'), [0, 1, 0]);
  assert.deepEqual(parseVersion('texcite 1.12.3'), [1, 12, 3]);
  assert.deepEqual(parseVersion('texcite 0.2.0.dev3'), [0, 2, 0]);
  assert.deepEqual(parseVersion('texcite 0.3.1+g1234abc'), [0, 3, 1]);
  assert.deepEqual(parseVersion('texcite 1.0'), [1, 0, 0]);
  assert.equal(parseVersion('usage: texcite [-h]'), undefined);
  assert.equal(parseVersion(''), undefined);
});

test('compares versions numerically', () => {
  assert.equal(compareVersions([0, 1, 0], [0, 1, 0]), 0);
  assert.equal(compareVersions([0, 0, 9], [0, 1, 0]), -1);
  assert.equal(compareVersions([0, 10, 0], [0, 9, 0]), 1);
  assert.equal(compareVersions([1, 0, 0], [0, 99, 99]), 1);
});

const ok = { exitCode: 0, stdout: 'texcite 0.1.0\n', stderr: '' };

test('a current installation passes', () => {
  assert.deepEqual(interpretCheck(ok, 'python3', 'linux'), { ok: true, version: [0, 1, 0] });
  assert.deepEqual(interpretCheck({ ...ok, stdout: 'texcite 0.4.2' }, 'python3', 'linux'), { ok: true, version: [0, 4, 2] });
});

test('an old installation asks for an upgrade', () => {
  const r = interpretCheck({ ...ok, stdout: 'texcite 0.0.9' }, '/v/bin/python', 'linux');
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.problem, 'too-old');
  assert.equal(r.pipCommand, "/v/bin/python -m pip install --upgrade 'texcite[hybrid]'");
  assert.match(checkNotification(r), /0\.0\.9.*0\.1\.0.*Upgrade it with: \/v\/bin\/python -m pip install --upgrade 'texcite\[hybrid\]'/);
});

test('a missing module gives the exact pip command', () => {
  const r = interpretCheck(
    { exitCode: 1, stdout: '', stderr: '/usr/bin/python3: No module named texcite\n' },
    'python3',
    'linux',
  );
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.problem, 'not-installed');
  assert.equal(r.pipCommand, "python3 -m pip install 'texcite[hybrid]'");
  const text = checkNotification(r);
  assert.match(text, /texcite is not installed for python3\. Install it with: python3 -m pip install 'texcite\[hybrid\]'/);
  assert.match(text, /pip install -e \/path\/to\/texcite/);
});

test('a missing interpreter says where to set one, without pip advice', () => {
  const r = interpretCheck({ errorCode: 'ENOENT', exitCode: null, stdout: '', stderr: '' }, '/nope/python', 'linux');
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.problem, 'interpreter-missing');
  assert.equal(r.pipCommand, undefined);
  assert.match(r.message, /"\/nope\/python" was not found.*texcite\.server\.pythonPath/);
});

test('a crashing import is reported with its last line', () => {
  const r = interpretCheck(
    { exitCode: 1, stdout: '', stderr: 'Traceback (most recent call last):\n  ...\nImportError: cannot import name x\n' },
    'python3',
    'linux',
  );
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.problem, 'broken');
  assert.match(r.message, /ImportError: cannot import name x/);
  assert.equal(r.pipCommand, "python3 -m pip install 'texcite[hybrid]'");
});

test('a timeout and a custom command are handled', () => {
  const t = interpretCheck({ timedOut: true, exitCode: null, stdout: '', stderr: '' }, 'python3', 'linux');
  assert.equal(t.ok, false);
  if (!t.ok) assert.match(t.message, /did not answer in time/);
  const c = interpretCheck({ exitCode: 2, stdout: '', stderr: 'error: bad flag' }, undefined, 'linux');
  assert.equal(c.ok, false);
  if (!c.ok) {
    assert.equal(c.pipCommand, undefined);
    assert.match(c.message, /texcite\.server\.command.*bad flag/);
  }
});

test('pip commands are quoted per platform', () => {
  assert.equal(pipInstallCommand('C:\\My Py\\python.exe', 'win32'), '"C:\\My Py\\python.exe" -m pip install "texcite[hybrid]"');
  assert.equal(pipInstallCommand('/a b/python', 'darwin', true), `'/a b/python' -m pip install --upgrade 'texcite[hybrid]'`);
});
