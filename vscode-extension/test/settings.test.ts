import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_ONLY_SETTINGS, launchSettings, needsRestart, serverSettings, toJson } from '../src/settings';

const root = join(__dirname, '..', '..');

test('client-only sections are not sent to the server', () => {
  const section = {
    completion: { maxItems: 20 },
    reranker: { backend: 'hybrid', model: 'm' },
    server: { pythonPath: '/x', command: [] },
    trace: { server: 'verbose' },
    citeCommands: ['mycite'],
  };
  assert.deepEqual(serverSettings(section), {
    completion: { maxItems: 20 },
    reranker: { backend: 'hybrid', model: 'm' },
    citeCommands: ['mycite'],
  });
});

test('a WorkspaceConfiguration-like object becomes plain nested JSON', () => {
  const config = {
    get: () => undefined,
    has: () => false,
    inspect: () => undefined,
    update: async () => undefined,
    completion: { maxItems: 50, deadlineMs: 600 },
    reranker: { url: '', timeoutMs: undefined },
  };
  const out = serverSettings(config);
  assert.deepEqual(out, { completion: { maxItems: 50, deadlineMs: 600 }, reranker: { url: '' } });
  assert.equal(JSON.stringify(out), '{"completion":{"maxItems":50,"deadlineMs":600},"reranker":{"url":""}}');
});

test('flat dotted keys are nested', () => {
  assert.deepEqual(
    serverSettings({
      'texcite.completion.maxItems': 5,
      'reranker.backend': 'none',
      'reranker.url': 'http://h:8000',
      'texcite.server.pythonPath': '/p',
      'trace.server': 'off',
    }),
    { completion: { maxItems: 5 }, reranker: { backend: 'none', url: 'http://h:8000' } },
  );
  assert.deepEqual(serverSettings(null), {});
  assert.deepEqual(serverSettings([1, 2]), {});
});

test('toJson drops what JSON cannot carry', () => {
  assert.deepEqual(toJson({ a: NaN, b: [undefined, 1], c: () => 1, d: null }), { b: [null, 1], d: null });
});

test('only texcite.server.* changes restart the server', () => {
  const changed = (names: string[]) => (section: string) =>
    names.some((n) => n === section || n.startsWith(section + '.'));
  assert.equal(needsRestart(changed(['texcite.server.pythonPath'])), true);
  assert.equal(needsRestart(changed(['texcite.server.command'])), true);
  assert.equal(needsRestart(changed(['texcite.reranker.backend'])), false);
  assert.equal(needsRestart(changed(['texcite.reranker.model', 'texcite.reranker.url'])), false);
  assert.equal(needsRestart(changed(['texcite.trace.server'])), false);
  assert.equal(needsRestart(changed(['editor.fontSize'])), false);
});

test('package.json declares the client-only settings and every server setting', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const props = pkg.contributes.configuration.properties as Record<string, { type: string; default: unknown; enum?: string[] }>;
  for (const name of CLIENT_ONLY_SETTINGS) {
    assert.ok(name in props, name);
  }
  assert.deepEqual(props['texcite.trace.server'].enum, ['off', 'messages', 'verbose']);
  assert.equal(props['texcite.server.command'].type, 'array');
  assert.equal(props['texcite.server.pythonPath'].type, 'string');
  for (const [name, prop] of Object.entries(props)) {
    assert.match(name, /^texcite\./);
    assert.ok(['string', 'integer', 'number', 'boolean', 'array'].includes(prop.type), name);
    assert.notEqual(prop.default, undefined, name);
  }
  // The server's own settings reach it through initializationOptions in nested form.
  const defaults: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(props)) defaults[name] = prop.default;
  const nested = serverSettings(defaults);
  assert.equal((nested.completion as Record<string, unknown>).maxItems, props['texcite.completion.maxItems'].default);
  assert.equal(nested.server, undefined);
  assert.equal(nested.trace, undefined);
});

test('launch settings are read from the texcite section', () => {
  const values: Record<string, unknown> = { 'server.command': ['texcite', 'serve'], 'server.pythonPath': '/p' };
  assert.deepEqual(launchSettings({ get: <T>(k: string) => values[k] as T | undefined }), {
    command: ['texcite', 'serve'],
    pythonPath: '/p',
  });
  assert.deepEqual(launchSettings({ get: () => undefined }), { command: undefined, pythonPath: undefined });
});

test('untrusted workspaces: limited support, and they cannot choose the program', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const untrusted = pkg.capabilities.untrustedWorkspaces;
  assert.equal(untrusted.supported, 'limited');
  assert.ok(untrusted.description.length > 20);
  for (const name of ['texcite.server.command', 'texcite.server.pythonPath']) {
    assert.ok(untrusted.restrictedConfigurations.includes(name), name);
  }
  for (const name of untrusted.restrictedConfigurations) {
    assert.ok(name in pkg.contributes.configuration.properties, name);
  }
  assert.equal(pkg.capabilities.virtualWorkspaces, false);
});
