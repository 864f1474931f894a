// Compile the unit tests (tsconfig.test.json -> out/) and run them with node's test runner.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
rmSync('out', { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.test.json'], { stdio: 'inherit' });
const files = readdirSync(join('out', 'test'))
  .filter((f) => f.endsWith('.test.js'))
  .sort()
  .map((f) => join('out', 'test', f));
const run = spawnSync(process.execPath, ['--test', ...process.argv.slice(2), ...files], { stdio: 'inherit' });
process.exit(run.status ?? 1);
