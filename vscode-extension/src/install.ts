/**
 * Run the version check of the texcite installation (node's child_process; no `vscode` import).
 */
import { execFile } from 'child_process';
import { CheckResult, CheckRun, interpretCheck } from './version';
import { ServerCommand, versionCommand } from './command';

const TIMEOUT_MS = 30000;

function run(command: string, args: string[], cwd: string | undefined): Promise<CheckRun> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: TIMEOUT_MS, windowsHide: true }, (error, stdout, stderr) => {
      const err = error as (NodeJS.ErrnoException & { killed?: boolean; code?: string | number }) | null;
      resolve({
        errorCode: err && typeof err.code === 'string' ? err.code : undefined,
        timedOut: Boolean(err?.killed),
        exitCode: err ? (typeof err.code === 'number' ? err.code : null) : 0,
        stdout: String(stdout ?? ''),
        stderr: String(stderr ?? ''),
      });
    });
  });
}

/** Check the installation behind `server`; `undefined` when there is nothing to check (custom command). */
export async function checkInstallation(
  server: ServerCommand,
  platform: string,
  cwd?: string,
): Promise<CheckResult | undefined> {
  const cmd = versionCommand(server);
  if (!cmd) {
    return undefined;
  }
  return interpretCheck(await run(cmd.command, cmd.args, cwd), server.python, platform);
}
