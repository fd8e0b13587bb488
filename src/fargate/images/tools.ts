/**
 * Which image tools and local image sources this machine has: `skopeo` (copies images between
 * archives, local engines and the store), `umoci` (unpacks an image into a directory), a Podman /
 * containers-storage store and a Docker daemon socket.
 */
import { execFile } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";

export interface ImageTools {
  readonly skopeo?: string;
  readonly umoci?: string;
  readonly tar?: string;
  /** a containers-storage store (Podman, Buildah) that skopeo can read: `containers-storage:` */
  readonly containersStorage: boolean;
  /** a Docker daemon socket: `docker-daemon:` */
  readonly dockerDaemon: boolean;
}

export function findExecutable(name: string, path = process.env.PATH ?? ""): string | undefined {
  for (const dir of [...path.split(delimiter), "/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const CONTAINERS_STORAGE = process.getuid?.() === 0 ? "/var/lib/containers/storage" : join(process.env.HOME ?? "/nonexistent", ".local/share/containers/storage");
const DOCKER_SOCKET = (process.env.DOCKER_HOST?.startsWith("unix://") ? process.env.DOCKER_HOST.slice(7) : undefined) ?? "/var/run/docker.sock";

export function detectImageTools(): ImageTools {
  const skopeo = findExecutable("skopeo");
  return {
    skopeo,
    umoci: findExecutable("umoci"),
    tar: findExecutable("tar"),
    containersStorage: skopeo !== undefined && existsSync(join(CONTAINERS_STORAGE, "overlay-images")),
    dockerDaemon: skopeo !== undefined && existsSync(DOCKER_SOCKET),
  };
}

export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs a tool without a shell; a non-zero exit is a result, not an exception. */
export function runTool(file: string, args: string[], options: { maxOutput?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { encoding: "buffer", maxBuffer: options.maxOutput ?? 16 * 1024 * 1024, env: { ...process.env, LC_ALL: "C" } }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === "number" ? ((error as { code: number }).code as number) : 1) : 0;
      resolve({ code, stdout, stderr: stderr.toString("utf8").trim() || (error && code !== 0 ? error.message : "") });
    });
  });
}

/** The first line of a tool's error output, for messages. */
export function firstLine(text: string): string {
  return text.split("\n").find((l) => l.trim() !== "") ?? "";
}
