import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveServerCommand } from '../src/command';
import {
  DEFAULT_PIP_ARGS,
  PROBE_ARGS,
  choosePython,
  commandText,
  environmentDir,
  environmentPython,
  findPython,
  interpretProbe,
  offerMessage,
  offersSetup,
  pipArgs,
  pipCommand,
  pipFailure,
  pythonCandidates,
  venvCommand,
  venvFailure,
} from '../src/environment';
import { CheckRun } from '../src/version';

const ran = (stdout: string, exitCode = 0, stderr = ''): CheckRun => ({ exitCode, stdout, stderr });
const missing: CheckRun = { errorCode: 'ENOENT', exitCode: null, stdout: '', stderr: '' };

test('the environment lives in the global storage folder', () => {
  const dir = environmentDir('/home/u/.config/Code/User/globalStorage/texcite.texcite', 'linux');
  assert.equal(dir, '/home/u/.config/Code/User/globalStorage/texcite.texcite/venv');
  assert.equal(environmentPython(dir, 'linux'), dir + '/bin/python');
  assert.equal(environmentPython(dir, 'darwin'), dir + '/bin/python');
  const win = environmentDir('C:\\Users\\u\\AppData\\Roaming\\Code\\User\\globalStorage\\texcite.texcite', 'win32');
  assert.equal(win, 'C:\\Users\\u\\AppData\\Roaming\\Code\\User\\globalStorage\\texcite.texcite\\venv');
  assert.equal(environmentPython(win, 'win32'), win + '\\Scripts\\python.exe');
});

test('the private environment comes after the settings and before the Python extension and PATH', () => {
  const venv = '/s/venv/bin/python';
  const base = { platform: 'linux', privateEnvironmentPath: venv, pythonExtensionPath: '/w/.venv/bin/python' };
  const chosen = resolveServerCommand(base);
  assert.deepEqual(chosen, { command: venv, args: ['-m', 'texcite', 'serve'], python: venv, source: 'private-environment' });
  assert.equal(resolveServerCommand({ ...base, pythonPathSetting: '/opt/py' }).source, 'texcite.server.pythonPath');
  assert.equal(resolveServerCommand({ ...base, commandSetting: ['texcite', 'serve'] }).source, 'texcite.server.command');
  // the user's own environment, not the workspace's: Restricted Mode uses it too
  assert.equal(resolveServerCommand({ ...base, trusted: false }).source, 'private-environment');
  assert.equal(resolveServerCommand({ ...base, privateEnvironmentPath: undefined }).source, 'python-extension');
});

test('the set-up is offered only where no setting chose the interpreter', () => {
  const source = (inputs: Parameters<typeof resolveServerCommand>[0]) => offersSetup(resolveServerCommand(inputs));
  assert.equal(source({ platform: 'linux' }), true);
  assert.equal(source({ platform: 'linux', pythonExtensionPath: '/w/.venv/bin/python' }), true);
  assert.equal(source({ platform: 'linux', privateEnvironmentPath: '/s/venv/bin/python' }), true);
  assert.equal(source({ platform: 'linux', pythonPathSetting: '/opt/py' }), false);
  assert.equal(source({ platform: 'linux', commandSetting: ['/opt/texcite', 'serve'] }), false);
});

test('Python candidates: the Python extension\'s first, then the names on PATH', () => {
  assert.deepEqual(pythonCandidates('/w/.venv/bin/python', 'linux'), [
    '/w/.venv/bin/python', 'python3', 'python3.13', 'python3.12', 'python3.11', 'python',
  ]);
  assert.deepEqual(pythonCandidates(undefined, 'linux'), ['python3', 'python3.13', 'python3.12', 'python3.11', 'python']);
  assert.deepEqual(pythonCandidates('python3', 'linux')[0], 'python3');
  assert.equal(pythonCandidates('python3', 'linux').filter((p) => p === 'python3').length, 1);
  assert.deepEqual(pythonCandidates(' ', 'win32'), ['python', 'python3']);
});

test('the probe runs on any Python and says the version and whether venv works', () => {
  assert.equal(PROBE_ARGS[0], '-c');
  assert.deepEqual(interpretProbe(ran('python 3.12.3\nvenv yes\n')), { kind: 'ok', version: '3.12.3' });
  assert.deepEqual(interpretProbe(ran('python 3.11.0\r\nvenv yes\r\n')), { kind: 'ok', version: '3.11.0' });
  assert.deepEqual(interpretProbe(ran('python 3.10.12\nvenv yes\n')), { kind: 'too-old', version: '3.10.12' });
  assert.deepEqual(interpretProbe(ran('python 2.7.18\nvenv no\n')), { kind: 'too-old', version: '2.7.18' });
  // Debian/Ubuntu without python3-venv: ensurepip does not import
  assert.deepEqual(interpretProbe(ran('python 3.11.2\nvenv no\n')), { kind: 'no-venv', version: '3.11.2' });
  assert.deepEqual(interpretProbe(missing), { kind: 'missing' });
  assert.deepEqual(interpretProbe(ran('', 9009, 'Python was not found; run without arguments to install from the Microsoft Store')), {
    kind: 'failed',
    detail: 'Python was not found; run without arguments to install from the Microsoft Store',
  });
  assert.deepEqual(interpretProbe({ exitCode: null, timedOut: true, stdout: '', stderr: '' }), { kind: 'failed', detail: 'did not answer in time' });
});

test('the first Python that can make the environment is chosen; the probing stops there', async () => {
  const answers: Record<string, CheckRun> = {
    '/w/.venv/bin/python': ran('python 3.10.4\nvenv yes\n'),
    python3: ran('python 3.12.1\nvenv yes\n'),
  };
  const probed: string[] = [];
  const choice = await findPython(pythonCandidates('/w/.venv/bin/python', 'linux'), async (python) => {
    probed.push(python);
    return answers[python] ?? missing;
  }, 'linux');
  assert.deepEqual(choice, { ok: true, python: 'python3', version: '3.12.1' });
  assert.deepEqual(probed, ['/w/.venv/bin/python', 'python3']);
});

test('no Python at all: say so and what to do', () => {
  const choice = choosePython([{ python: 'python3', probe: { kind: 'missing' } }, { python: 'python', probe: { kind: 'missing' } }], 'linux');
  assert.equal(choice.ok, false);
  if (choice.ok) return;
  assert.equal(
    choice.message,
    'texcite: No Python was found to set texcite up (tried python3 (not found), python (not found)). Install Python 3.11 ' +
      'or newer, or select one with the Python extension, then retry.',
  );
});

test('only old Pythons: name them with their versions', () => {
  const choice = choosePython(
    [{ python: 'python3', probe: { kind: 'too-old', version: '3.10.12' } }, { python: 'python', probe: { kind: 'too-old', version: '2.7.18' } }],
    'linux',
  );
  assert.equal(choice.ok, false);
  if (choice.ok) return;
  assert.match(choice.message, /^texcite: No Python 3\.11 or newer was found to set texcite up \(tried python3 \(3\.10\.12, too old\), python \(2\.7\.18, too old\)\)\. Install Python 3\.11 or newer/);
});

test('a recent Python without venv/ensurepip: the Debian package to install', () => {
  const tried = [
    { python: 'python3', probe: { kind: 'no-venv', version: '3.11.2' } as const },
    { python: 'python', probe: { kind: 'missing' } as const },
  ];
  const linux = choosePython(tried, 'linux');
  assert.ok(!linux.ok);
  if (linux.ok) return;
  assert.equal(
    linux.message,
    'texcite: Python 3.11.2 (python3) cannot create a virtual environment: its venv/ensurepip module is missing. ' +
      'On Debian and Ubuntu install it with: sudo apt install python3-venv (or python3.11-venv). Then retry.',
  );
  const mac = choosePython(tried, 'darwin');
  assert.ok(!mac.ok && !/apt/.test(mac.message));
});

test('the command lines: venv, then pip install texcite[hybrid] with the environment\'s own interpreter', () => {
  const dir = '/s/venv';
  assert.deepEqual(venvCommand('/usr/bin/python3', dir), { command: '/usr/bin/python3', args: ['-m', 'venv', dir] });
  const pip = pipCommand(dir, pipArgs(undefined), 'linux');
  assert.deepEqual(pip, { command: '/s/venv/bin/python', args: ['-m', 'pip', 'install', '--disable-pip-version-check', 'texcite[hybrid]'] });
  assert.equal(commandText(pip, 'linux'), "/s/venv/bin/python -m pip install --disable-pip-version-check 'texcite[hybrid]'");
  assert.equal(pipCommand('C:\\s\\venv', ['texcite[hybrid]'], 'win32').command, 'C:\\s\\venv\\Scripts\\python.exe');
});

test('texcite.install.pipArgs: a wheel or a local index, else texcite[hybrid]', () => {
  assert.deepEqual(DEFAULT_PIP_ARGS, ['texcite[hybrid]']);
  assert.deepEqual(pipArgs([]), ['texcite[hybrid]']);
  assert.deepEqual(pipArgs(''), ['texcite[hybrid]']);
  assert.deepEqual(pipArgs(['texcite[hybrid]', '']), ['texcite[hybrid]']);
  assert.deepEqual(pipArgs(['/w/texcite-0.1.0-py3-none-any.whl[hybrid]']), ['/w/texcite-0.1.0-py3-none-any.whl[hybrid]']);
  assert.deepEqual(
    pipCommand('/s/venv', pipArgs(['--no-index', ' --find-links', '/wheels', 'texcite[hybrid]']), 'linux').args,
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-index', '--find-links', '/wheels', 'texcite[hybrid]'],
  );
});

test('a failed venv: Debian\'s missing ensurepip gets the apt line', () => {
  const debian = ran(
    '',
    1,
    'The virtual environment was not created successfully because ensurepip is not\navailable.  On Debian/Ubuntu systems, you need to install the python3-venv\npackage using the following command.\n\n    apt install python3.11-venv\n',
  );
  assert.equal(
    venvFailure(debian, '/usr/bin/python3', 'linux'),
    'texcite: /usr/bin/python3 cannot create a virtual environment: ensurepip is missing. On Debian and Ubuntu install ' +
      'it with: sudo apt install python3-venv. Then retry.',
  );
  assert.equal(
    venvFailure(ran('', 1, 'Error: [Errno 28] No space left on device'), 'python3', 'linux'),
    'texcite: "python3 -m venv" failed (exit code 1): Error: [Errno 28] No space left on device. Retry, or see the texcite output.',
  );
});

test('a failed pip names the package and pip\'s last word', () => {
  const run = ran('Collecting texcite[hybrid]\n', 1, 'ERROR: Could not find a version that satisfies the requirement onnxruntime>=1.17\nERROR: No matching distribution found for onnxruntime>=1.17\n');
  assert.match(pipFailure(run, ['texcite[hybrid]']), /^texcite: pip could not install texcite\[hybrid\] \(exit code 1\): ERROR: No matching distribution found for onnxruntime>=1\.17\. /);
});

test('the offer says why and what it will do', () => {
  const notInstalled = { ok: false as const, problem: 'not-installed' as const, message: 'texcite is not installed for python3.', detail: '' };
  assert.equal(
    offerMessage(notInstalled, ['texcite[hybrid]']),
    'texcite is not installed for python3. Set it up in a private environment? The extension makes a Python virtual ' +
      'environment in its own storage and runs "pip install texcite[hybrid]" in it (a few hundred MB).',
  );
  const noPython = { ok: false as const, problem: 'interpreter-missing' as const, message: 'texcite: the Python interpreter "python3" was not found. Set "texcite.server.pythonPath"', detail: '' };
  assert.match(offerMessage(noPython, ['texcite[hybrid]']), /^texcite: no Python with texcite was found\. Set it up/);
});
