/**
 * The runtime-specific part of running a task's containers (docs/ecs-fargate.md#containers).
 * TaskProcesses (containers.ts) keeps the ECS semantics (dependsOn, essential containers, stop
 * order, stop timeouts, exit codes); a launcher only knows how to start a container's main
 * process, signal it and run a command inside it. Two launchers exist: host processes
 * (host-launcher.ts) and OCI containers run by crun (runtime/oci-launcher.ts).
 */
import type { ContainerSpec } from "./containers.ts";

/**
 * Where a container's stdout and stderr go: open file descriptors the container writes to
 * directly, or a callback that receives what it writes, chunk by chunk (through pipes).
 */
export type ContainerOutput = { stdout: number; stderr: number } | { onData(stream: "stdout" | "stderr", chunk: Buffer): void };

/** The stdio entries for a child process that writes `output`. */
export function outputStdio(output: ContainerOutput): [number | "pipe", number | "pipe"] {
  return "onData" in output ? ["pipe", "pipe"] : [output.stdout, output.stderr];
}

/** Forwards a child's piped output to `output`'s callback (nothing to do for descriptors). */
export function forwardOutput(output: ContainerOutput, stdout: NodeJS.ReadableStream | null, stderr: NodeJS.ReadableStream | null): void {
  if (!("onData" in output)) return;
  stdout?.on("data", (chunk: Buffer) => output.onData("stdout", chunk));
  stderr?.on("data", (chunk: Buffer) => output.onData("stderr", chunk));
}

/** How a container's main process ended. */
export interface ContainerEnd {
  /** the process's exit code, or 128 + signal number; absent when it never ran */
  exitCode?: number;
  /** set when the container could not be started: "CannotStartContainerError: …" */
  reason?: string;
}

export interface LaunchedContainer {
  /** host pid of the process that holds the container (recorded for crash recovery) */
  pid?: number;
  /** resolves once the main process has ended (never rejects) */
  exited: Promise<ContainerEnd>;
}

export type LaunchOutcome = { ok: true; container: LaunchedContainer } | { ok: false; reason: string };

export interface ContainerLauncher {
  /** Which runtime this is, for health and the docs: "host" or "crun". */
  readonly runtime: "host" | "crun";
  /**
   * Starts the container's main process. Resolves once it is running ({ ok: true }) or when it
   * cannot be started ({ ok: false, reason: "CannotStartContainerError: …" }); never rejects.
   */
  start(container: ContainerSpec, output: ContainerOutput): Promise<LaunchOutcome>;
  /** Sends a signal to everything the container runs; a container that is gone is ignored. */
  signal(container: string, signal: "SIGTERM" | "SIGKILL"): void;
  /**
   * Runs `argv` inside the running container (its user, environment and working directory) and
   * resolves with its exit code, or null when it did not finish within `timeoutMs` (it is killed)
   * or could not be run. Health checks use this.
   */
  exec(container: string, argv: string[], timeoutMs: number): Promise<number | null>;
}
