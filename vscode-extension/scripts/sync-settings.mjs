#!/usr/bin/env node
// Merge the server's settings schema (`python -m texcite settings-schema`) into package.json's
// contributes.configuration, plus the client-only settings. The server is the single source of truth.
//
//   node scripts/sync-settings.mjs [--python PATH] [--check]
//
// The interpreter is --python, else $TEXCITE_PYTHON, else ../.venv/bin/python if it exists, else python3.
// --check exits 1 (and changes nothing) when package.json is out of date.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packagePath = join(root, 'package.json');

const CLIENT_ONLY = {
  'texcite.server.pythonPath': {
    type: 'string',
    default: '',
    scope: 'machine-overridable',
    description:
      'Python interpreter that runs the texcite server (`<python> -m texcite serve`). Empty: the private environment the extension set texcite up in ("texcite: Set Up Private Environment"), else the active interpreter of the Python extension, else `python3` (`python` on Windows) on PATH.',
  },
  'texcite.server.command': {
    type: 'array',
    default: [],
    items: { type: 'string' },
    scope: 'machine-overridable',
    description:
      'Full command line that starts the server over stdio, e.g. ["/opt/texcite/bin/texcite", "serve"]. Overrides texcite.server.pythonPath when not empty.',
  },
  'texcite.install.pipArgs': {
    type: 'array',
    default: [],
    items: { type: 'string' },
    scope: 'machine-overridable',
    description:
      'What `pip install` gets when the extension sets texcite up in its private environment (the "texcite: Set Up Private Environment" command, offered when no texcite is found). Empty: ["texcite[hybrid]"] from PyPI. E.g. ["/path/texcite-0.1.0-py3-none-any.whl[hybrid]"] for a wheel, or ["--no-index", "--find-links", "/path/wheels", "texcite[hybrid]"] offline.',
  },
  'texcite.trace.server': {
    type: 'string',
    default: 'off',
    enum: ['off', 'messages', 'verbose'],
    enumDescriptions: ['No LSP trace.', 'Trace the names of LSP messages.', 'Trace LSP messages with their contents.'],
    scope: 'window',
    description: 'Traces the communication between VS Code and the texcite server in the "texcite" output channel.',
  },
};

function parseArgs(argv) {
  const opts = { python: undefined, check: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--check') opts.check = true;
    else if (argv[i] === '--python') opts.python = argv[++i];
    else throw new Error(`unknown argument: ${argv[i]}`);
  }
  return opts;
}

function pickPython(explicit) {
  if (explicit) return explicit;
  if (process.env.TEXCITE_PYTHON) return process.env.TEXCITE_PYTHON;
  const venv = join(root, '..', '.venv', process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
  if (existsSync(venv)) return venv;
  return process.platform === 'win32' ? 'python' : 'python3';
}

const opts = parseArgs(process.argv.slice(2));
const python = pickPython(opts.python);
const schema = JSON.parse(execFileSync(python, ['-m', 'texcite', 'settings-schema'], { encoding: 'utf8' }));
for (const name of Object.keys(schema)) {
  if (!name.startsWith('texcite.')) throw new Error(`unexpected setting name from the server: ${name}`);
  if (name in CLIENT_ONLY) throw new Error(`the server declares the client-only setting ${name}`);
}

const text = readFileSync(packagePath, 'utf8');
const pkg = JSON.parse(text);
pkg.contributes ??= {};
pkg.contributes.configuration = {
  title: 'texcite',
  properties: { ...schema, ...CLIENT_ONLY },
};
const updated = JSON.stringify(pkg, null, 2) + '\n';

if (opts.check) {
  if (updated !== text) {
    console.error('package.json is out of date: run `npm run sync-settings`.');
    process.exit(1);
  }
} else if (updated !== text) {
  writeFileSync(packagePath, updated);
  console.log(`package.json: ${Object.keys(schema).length} server settings + ${Object.keys(CLIENT_ONLY).length} client settings.`);
}
