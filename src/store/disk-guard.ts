/**
 * Watches the room left on the data directory's file system. A call starts only while more
 * than a reserve is free, so a call is refused before it changes anything rather than failing
 * halfway; a write that still fails for want of space (SQLITE_FULL, ENOSPC, EDQUOT) is
 * remembered. Either makes the server "degraded" (GET /_localfargate/health says why) until
 * space returns, checked again on every call. See docs/security.md ("A full disk").
 */
import { statfsSync } from "node:fs";

/** Free space below which calls are refused: more than any one call's writes need. */
export const DISK_RESERVE_BYTES = 4 * 1024 * 1024;

const FULL_CODES = new Set(["SQLITE_FULL", "ENOSPC", "EDQUOT"]);

/** True for the errors SQLite and the file system raise when there is no room left. */
export function isDiskFull(e: unknown): boolean {
  const code = (e as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" && FULL_CODES.has(code);
}

export type FreeSpace = (dir: string) => number;

const statfsFree: FreeSpace = (dir) => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

export class DiskGuard {
  private failure: string | undefined;

  constructor(
    private readonly dir: string | null,
    private readonly reserve = DISK_RESERVE_BYTES,
    private readonly freeSpace: FreeSpace = statfsFree,
  ) {}

  /**
   * Why writes cannot start now, or undefined when there is room (which clears a remembered
   * failure). `bytes`: what the call brings to store beyond the reserve (an S3 object's body).
   */
  problem(bytes = 0): string | undefined {
    if (this.dir === null) return undefined;
    let free: number;
    try {
      free = this.freeSpace(this.dir);
    } catch {
      return this.failure;
    }
    if (free < this.reserve) {
      return `the data directory's file system has ${free} bytes free, less than the ${this.reserve} localfargate keeps in reserve`;
    }
    this.failure = undefined;
    if (free < this.reserve + bytes) {
      return `the data directory's file system has ${free} bytes free, too few to store ${bytes} more bytes and keep the ${this.reserve}-byte reserve`;
    }
    return undefined;
  }

  /** Remembers a write that failed for want of space; true when `e` was such a failure. */
  noteFailure(e: unknown): boolean {
    if (!isDiskFull(e)) return false;
    this.failure = `a write to the data directory failed: ${(e as { code: string }).code} (${(e as Error).message})`;
    return true;
  }
}
