/**
 * The service clock. Real time plus an offset that only moves forward
 * (POST /_localfargate/clock). Nothing else in the project reads Date.now().
 */
export interface Clock {
  /** Milliseconds since the epoch on the service clock. */
  nowMs(): number;
  now(): Date;
  /** Offset from real time, in milliseconds. */
  offsetMs(): number;
}

/** The furthest one advance may move the clock: 100 years of 365.25 days. */
export const MAX_ADVANCE_SECONDS = 100 * 365.25 * 86400;
/**
 * The latest service time: the last millisecond of year 9999. ISO 8601 timestamps (the wire's,
 * CloudTrail's, SQLite's date functions) have four-digit years; a JS Date reaches further.
 */
export const MAX_SERVICE_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Why `seconds` cannot be added to a clock now at `nowMs`; undefined when it can. */
export function advanceProblem(seconds: unknown, nowMs: number): string | undefined {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
    return "advanceSeconds must be a finite, non-negative number of seconds.";
  }
  if (seconds > MAX_ADVANCE_SECONDS) {
    return `advanceSeconds must be at most ${MAX_ADVANCE_SECONDS} (100 years) per request.`;
  }
  if (nowMs + Math.round(seconds * 1000) > MAX_SERVICE_TIME_MS) {
    return `advanceSeconds would move the service clock past ${new Date(MAX_SERVICE_TIME_MS).toISOString()}, the latest time it can hold.`;
  }
  return undefined;
}

/**
 * The offset to start with from the one saved in the data dir: an offset that is not a
 * non-negative integer, or that puts the clock past MAX_SERVICE_TIME_MS (saved by versions that
 * did not bound advances), is ignored, with the reason.
 */
export function restoredOffset(saved: string | undefined, realNowMs: number = Date.now()): { offsetMs: number; warning?: string } {
  if (saved === undefined) return { offsetMs: 0 };
  const n = Number(saved);
  if (saved.trim() === "" || !Number.isSafeInteger(n) || n < 0 || realNowMs + n > MAX_SERVICE_TIME_MS) {
    return { offsetMs: 0, warning: `the saved service clock offset ${JSON.stringify(saved)} ms is not usable; the service clock starts at real time` };
  }
  return { offsetMs: n };
}

/** Real time, for what must not move with the service clock: timeouts and the HTTP Date header. */
export function wallClockMs(): number {
  return Date.now();
}

export class ServiceClock implements Clock {
  private offset: number;
  constructor(
    offsetMs = 0,
    private readonly real: () => number = Date.now,
  ) {
    this.offset = offsetMs;
  }
  nowMs(): number {
    return this.real() + this.offset;
  }
  now(): Date {
    return new Date(this.nowMs());
  }
  offsetMs(): number {
    return this.offset;
  }
  /** Wall-clock time, for what must follow the caller's real clock (SigV4 skew window, Date header). */
  realNowMs(): number {
    return this.real();
  }
  /** The offset after advancing by `seconds` (already checked with advanceProblem). */
  offsetAfter(seconds: number): number {
    return this.offset + Math.round(seconds * 1000);
  }
  advance(seconds: number): void {
    const problem = advanceProblem(seconds, this.nowMs());
    if (problem) throw new RangeError(problem);
    this.offset += Math.round(seconds * 1000);
  }
}
