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

export class ServiceClock implements Clock {
  private offset: number;
  constructor(offsetMs = 0, private readonly real: () => number = Date.now) {
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
  advance(seconds: number): void {
    if (!(seconds >= 0) || !Number.isFinite(seconds)) throw new RangeError("advanceSeconds must be a non-negative number");
    this.offset += Math.round(seconds * 1000);
  }
}

/** A clock fixed at a given instant, movable by hand: for unit tests. */
export class ManualClock implements Clock {
  constructor(private ms: number) {}
  nowMs(): number {
    return this.ms;
  }
  now(): Date {
    return new Date(this.ms);
  }
  offsetMs(): number {
    return 0;
  }
  set(ms: number): void {
    this.ms = ms;
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}
