/**
 * Running a command inside a host-process container (docs/ecs-fargate.md#containers): in the
 * container's working directory, with its environment, as the task's user, in a process group of
 * its own so that a command that times out is ended with everything it forked.
 */
import { spawn } from "node:child_process";
import { constants as osConstants } from "node:os";

export interface HostExecContext {
  cwd: string;
  env: Record<string, string>;
  user?: { uid: number; gid: number };
}

export class ExecTimeout extends Error {
  constructor(ms: number) {
    super(`the command did not finish within ${ms} ms`);
  }
}

/** Resolves with the exit code (128 + signal for a signalled end); rejects when it cannot start or times out. */
export function hostExec(ctx: HostExecContext, argv: string[], timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const [program, ...args] = argv;
    if (!program) return reject(new Error("empty command"));
    let child;
    try {
      child = spawn(program, args, { cwd: ctx.cwd, env: ctx.env, stdio: "ignore", detached: true, ...(ctx.user ?? {}) });
    } catch (e) {
      return reject(e as Error);
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return reject(new ExecTimeout(timeoutMs));
      if (code !== null) return resolve(code);
      const n = signal ? osConstants.signals[signal] : undefined;
      resolve(typeof n === "number" ? 128 + n : 1);
    });
  });
}
