/**
 * What the task runner needs from the container processes (src/fargate/containers.ts), as a
 * small interface; adapters.ts binds it to that module.
 */

export interface ContainerSpec {
  taskId: string;
  name: string;
  /** entryPoint + command; empty: the container idles until stopped */
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

export interface ContainerExit {
  exitCode: number | null;
  /** set when the process could not start or was killed */
  reason?: string;
}

export interface RunningContainer {
  readonly runtimeId: string;
  /** resolves once the process has exited */
  readonly exited: Promise<ContainerExit>;
  /** SIGTERM, then SIGKILL after timeoutSeconds; resolves when the process is gone */
  stop(timeoutSeconds: number): Promise<void>;
}

export interface ContainerLauncher {
  start(spec: ContainerSpec): Promise<RunningContainer>;
}
