/**
 * The active interpreter of the Python extension (ms-python.python), through its official API package
 * `@vscode/python-extension`.
 *
 * Everything is guarded: the Python extension may be absent (PythonExtension.api() throws), fail or take
 * forever to activate, or throw from its API. Then there is no interpreter and no change event, nothing else.
 */
import * as vscode from 'vscode';
import { PythonExtension } from '@vscode/python-extension';

/** How long to wait for the Python extension to activate or resolve an environment. */
const TIMEOUT_MS = 15000;

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

function hasEnvironments(api: PythonExtension | undefined): api is PythonExtension {
  const envs = api?.environments;
  return (
    envs !== undefined &&
    typeof envs.getActiveEnvironmentPath === 'function' &&
    typeof envs.resolveEnvironment === 'function'
  );
}

export class PythonInterpreter implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private api: Promise<PythonExtension | undefined> | undefined;
  private subscribed = false;
  private disposed = false;

  /** Fires when the user selects another interpreter in the Python extension. */
  readonly onDidChangeInterpreter: vscode.Event<void> = this.changed.event;

  /**
   * The Python extension's API, or undefined. A failure is not remembered (the extension may be installed
   * later). An activation slower than TIMEOUT_MS is waited for in the background: when it finally succeeds,
   * onDidChangeInterpreter fires, since the server may have started without the interpreter.
   */
  private environments(): Promise<PythonExtension | undefined> {
    if (this.api) {
      return this.api;
    }
    let timedOut = false;
    const settled = Promise.resolve()
      .then(() => PythonExtension.api())
      .then(
        (api) => (hasEnvironments(api) ? api : undefined),
        () => undefined,
      );
    const pending = withTimeout(settled, TIMEOUT_MS).then((api) => {
      timedOut = api === undefined;
      return api;
    });
    this.api = pending;
    void settled.then((api) => {
      if (this.api === pending || this.api === undefined) {
        this.api = api ? Promise.resolve(api) : undefined;
      }
      if (api) {
        this.subscribe(api);
        if (timedOut) {
          this.changed.fire();
        }
      }
    });
    return pending;
  }

  private subscribe(api: PythonExtension): void {
    if (this.subscribed || this.disposed) {
      return;
    }
    try {
      const event = api.environments.onDidChangeActiveEnvironmentPath;
      if (typeof event === 'function') {
        this.disposables.push(event(() => this.changed.fire()));
        this.subscribed = true;
      }
    } catch {
      // an older API without the event: no restarts on interpreter changes
    }
  }

  /** Start listening for interpreter changes (activates the Python extension if it is installed). */
  initialize(): void {
    void this.environments();
  }

  /** The executable of the active Python environment for `resource`, or undefined. */
  async activeInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
    const api = await this.environments();
    if (!api) {
      return undefined;
    }
    try {
      const envPath = api.environments.getActiveEnvironmentPath(resource);
      if (!envPath) {
        return undefined;
      }
      const env = await withTimeout(api.environments.resolveEnvironment(envPath), TIMEOUT_MS);
      const fsPath = env?.executable?.uri?.fsPath;
      return typeof fsPath === 'string' && fsPath !== '' ? fsPath : undefined;
    } catch {
      return undefined;
    }
  }

  dispose(): void {
    this.disposed = true;
    for (const d of this.disposables.splice(0)) {
      d.dispose();
    }
  }
}
