/**
 * The active interpreter of the Python extension (ms-python.python), if it is installed.
 *
 * Everything is guarded: the extension may be absent, fail to activate, or have an older API.
 */
import * as vscode from 'vscode';

const PYTHON_EXTENSION = 'ms-python.python';
const TIMEOUT_MS = 15000;

interface PythonEnvironmentsApi {
  getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
  resolveEnvironment(env: { path: string } | string): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
}

function withTimeout<T>(promise: Thenable<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    Promise.resolve(promise).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}

async function environmentsApi(): Promise<PythonEnvironmentsApi | undefined> {
  try {
    const ext = vscode.extensions.getExtension(PYTHON_EXTENSION);
    if (!ext) {
      return undefined;
    }
    const exports = ext.isActive ? ext.exports : await withTimeout(ext.activate(), TIMEOUT_MS);
    const envs = (exports as { environments?: PythonEnvironmentsApi } | undefined)?.environments;
    if (!envs || typeof envs.getActiveEnvironmentPath !== 'function' || typeof envs.resolveEnvironment !== 'function') {
      return undefined;
    }
    return envs;
  } catch {
    return undefined;
  }
}

/** The executable of the active Python environment for `resource`, or undefined. */
export async function activeInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  const envs = await environmentsApi();
  if (!envs) {
    return undefined;
  }
  try {
    const envPath = envs.getActiveEnvironmentPath(resource);
    if (!envPath) {
      return undefined;
    }
    const env = await withTimeout(envs.resolveEnvironment(envPath), TIMEOUT_MS);
    const fsPath = env?.executable?.uri?.fsPath;
    return typeof fsPath === 'string' && fsPath !== '' ? fsPath : undefined;
  } catch {
    return undefined;
  }
}

/** Subscribe to changes of the active interpreter; a no-op disposable when the API is absent. */
export async function onInterpreterChange(listener: () => void): Promise<vscode.Disposable> {
  const envs = await environmentsApi();
  try {
    if (envs && typeof envs.onDidChangeActiveEnvironmentPath === 'function') {
      return envs.onDidChangeActiveEnvironmentPath(() => listener());
    }
  } catch {
    // fall through
  }
  return new vscode.Disposable(() => undefined);
}
