/**
 * Watches the room left on the data directory's file system. A call starts only while more
 * than a reserve is free, so a call is refused before it changes anything rather than failing
 * halfway; a write that still fails for want of space (SQLITE_FULL, ENOSPC, EDQUOT) is
 * remembered. Either makes the server "degraded" (GET /_localfargate/health says why) until
 * space returns, checked again on every call (far above the reserve, on every 65th). See docs/security.md ("A full disk").
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

/**
 * Far above the reserve, free space is measured once every this many calls instead of on each
 * (statfs is a system call on the request path): no run of calls this short can write the margin
 * below (their bodies are limited, docs/limits.md), and a call that brings a body is always measured.
 */
const UNMEASURED_CALLS = 64;
const MARGIN_BYTES = 1024 * 1024 * 1024;

const statfsFree: FreeSpace = (dir) => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

export class DiskGuard {
  private failure: string | undefined;
  /** calls that may still start without measuring: far from the reserve at the last measurement */
  private unmeasured = 0;

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
    if (bytes === 0 && this.failure === undefined && this.unmeasured > 0) {
      this.unmeasured--;
      return undefined;
    }
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
    this.unmeasured = free - this.reserve > MARGIN_BYTES ? UNMEASURED_CALLS : 0;
    if (free < this.reserve + bytes) {
      return `the data directory's file system has ${free} bytes free, too few to store ${bytes} more bytes and keep the ${this.reserve}-byte reserve`;
    }
    return undefined;
  }

  /** Remembers a write that failed for want of space; true when `e` was such a failure. */
  noteFailure(e: unknown): boolean {
    if (!isDiskFull(e)) return false;
    this.unmeasured = 0;
    this.failure = `a write to the data directory failed: ${(e as { code: string }).code} (${(e as Error).message})`;
    return true;
  }
}
