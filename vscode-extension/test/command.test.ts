import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultPython,
  expandPath,
  formatCommandLine,
  resolveServerCommand,
  versionCommand,
} from '../src/command';

test('default interpreter is python3, python on Windows', () => {
  assert.equal(defaultPython('linux'), 'python3');
  assert.equal(defaultPython('darwin'), 'python3');
  assert.equal(defaultPython('win32'), 'python');
  const cmd = resolveServerCommand({ platform: 'linux' });
  assert.deepEqual(cmd, { command: 'python3', args: ['-m', 'texcite', 'serve'], python: 'python3', source: 'default' });
  assert.equal(resolveServerCommand({ platform: 'win32' }).command, 'python');
});

test('the Python extension interpreter beats the default', () => {
  const cmd = resolveServerCommand({ platform: 'linux', pythonExtensionPath: '/home/u/.venv/bin/python' });
  assert.equal(cmd.command, '/home/u/.venv/bin/python');
  assert.deepEqual(cmd.args, ['-m', 'texcite', 'serve']);
  assert.equal(cmd.source, 'python-extension');
  assert.equal(resolveServerCommand({ platform: 'linux', pythonExtensionPath: '  ' }).source, 'default');
});

test('texcite.server.pythonPath beats the Python extension', () => {
  const cmd = resolveServerCommand({
    platform: 'linux',
    pythonPathSetting: '/opt/py/bin/python3',
    pythonExtensionPath: '/home/u/.venv/bin/python',
  });
  assert.equal(cmd.command, '/opt/py/bin/python3');
  assert.equal(cmd.python, '/opt/py/bin/python3');
  assert.equal(cmd.source, 'texcite.server.pythonPath');
  // blank or mistyped settings are ignored
  assert.equal(resolveServerCommand({ platform: 'linux', pythonPathSetting: '   ' }).source, 'default');
  assert.equal(resolveServerCommand({ platform: 'linux', pythonPathSetting: 42 }).source, 'default');
});

test('texcite.server.command overrides everything', () => {
  const cmd = resolveServerCommand({
    platform: 'linux',
    commandSetting: ['/opt/texcite/bin/texcite', 'serve', '--log-level', 'debug'],
    pythonPathSetting: '/opt/py/bin/python3',
    pythonExtensionPath: '/x/python',
  });
  assert.deepEqual(cmd, {
    command: '/opt/texcite/bin/texcite',
    args: ['serve', '--log-level', 'debug'],
    python: undefined,
    source: 'texcite.server.command',
  });
  // empty or invalid arrays fall through to the interpreter
  assert.equal(resolveServerCommand({ platform: 'linux', commandSetting: [] }).source, 'default');
  assert.equal(resolveServerCommand({ platform: 'linux', commandSetting: ['', 'serve'] }).source, 'default');
  assert.equal(resolveServerCommand({ platform: 'linux', commandSetting: [1, 2] }).source, 'default');
  assert.equal(resolveServerCommand({ platform: 'linux', commandSetting: 'texcite serve' }).source, 'default');
});

test('paths expand ~, ${userHome} and ${workspaceFolder}', () => {
  assert.equal(expandPath('~/venv/bin/python', '/home/u'), '/home/u/venv/bin/python');
  assert.equal(expandPath('${userHome}/py', '/home/u'), '/home/u/py');
  assert.equal(expandPath('${workspaceFolder}/.venv/bin/python', '/home/u', '/w/paper'), '/w/paper/.venv/bin/python');
  assert.equal(expandPath('/abs/~x', '/home/u'), '/abs/~x');
  const cmd = resolveServerCommand({
    platform: 'linux',
    pythonPathSetting: '${workspaceFolder}/.venv/bin/python',
    workspaceFolder: '/w/paper',
  });
  assert.equal(cmd.command, '/w/paper/.venv/bin/python');
});

test('version command follows the interpreter or replaces "serve"', () => {
  assert.deepEqual(versionCommand(resolveServerCommand({ platform: 'linux' })), {
    command: 'python3',
    args: ['-m', 'texcite', '--version'],
  });
  const custom = resolveServerCommand({ platform: 'linux', commandSetting: ['/v/bin/python', '-m', 'texcite', 'serve'] });
  assert.deepEqual(versionCommand(custom), { command: '/v/bin/python', args: ['-m', 'texcite', '--version'] });
  const noServe = resolveServerCommand({ platform: 'linux', commandSetting: ['docker', 'run', '-i', 'texcite'] });
  assert.equal(versionCommand(noServe), undefined);
});

test('command lines are quoted for pasting', () => {
  assert.equal(formatCommandLine('python3', ['-m', 'pip', 'install', 'texcite'], 'linux'), 'python3 -m pip install texcite');
  assert.equal(
    formatCommandLine('/home/u/my env/bin/python', ['-m', 'texcite'], 'linux'),
    `'/home/u/my env/bin/python' -m texcite`,
  );
  assert.equal(
    formatCommandLine('C:\\Program Files\\Python312\\python.exe', ['-m', 'pip'], 'win32'),
    '"C:\\Program Files\\Python312\\python.exe" -m pip',
  );
  assert.equal(formatCommandLine('C:\\Python312\\python.exe', ['-m', 'pip'], 'win32'), 'C:\\Python312\\python.exe -m pip');
});

test('Restricted Mode: the workspace does not choose the interpreter', () => {
  // the Python extension's interpreter is often the workspace's own venv: not used
  const cmd = resolveServerCommand({ platform: 'linux', pythonExtensionPath: '/w/paper/.venv/bin/python', trusted: false });
  assert.equal(cmd.source, 'default');
  assert.equal(cmd.command, 'python3');
  // ${workspaceFolder} is not expanded, even in a user setting
  const path = resolveServerCommand({
    platform: 'linux',
    pythonPathSetting: '${workspaceFolder}/.venv/bin/python',
    workspaceFolder: '/w/paper',
    trusted: false,
  });
  assert.equal(path.command, '${workspaceFolder}/.venv/bin/python');
  // user-level settings still apply, with ~ expanded
  const home = resolveServerCommand({ platform: 'linux', pythonPathSetting: '~/py/bin/python', homeDir: '/home/u', trusted: false });
  assert.equal(home.command, '/home/u/py/bin/python');
  assert.equal(resolveServerCommand({ platform: 'linux', pythonExtensionPath: '/x/python', trusted: true }).source, 'python-extension');
});
