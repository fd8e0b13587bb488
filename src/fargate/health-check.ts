/**
 * A container's health check (docs/ecs-fargate.md#health-checks), run inside the container on the
 * real wall clock, with the rules of the task definition's `healthCheck`
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html):
 *   - `["CMD", prog, args…]` runs the program, `["CMD-SHELL", "…"]` runs the line with /bin/sh -c;
 *     exit code 0 is a success, anything else (or no answer within `timeout`) a failure;
 *   - the first probe runs `interval` seconds after the container starts, then every `interval`
 *     seconds after the previous probe ended;
 *   - UNKNOWN until the first verdict; HEALTHY after a success; UNHEALTHY after `retries`
 *     consecutive failures;
 *   - failures during `startPeriod` are not counted, unless a probe has already succeeded.
 */

export type HealthStatus = "HEALTHY" | "UNHEALTHY" | "UNKNOWN";

/** The task definition's `healthCheck`, in seconds, with ECS's defaults applied. */
export interface HealthCheckSpec {
  command: string[];
  intervalSeconds: number;
  timeoutSeconds: number;
  retries: number;
  startPeriodSeconds: number;
}

/** Runs `argv` inside the container: its exit code, or null (or a rejection) when it could not run or timed out. */
export type ProbeExec = (argv: string[], timeoutMs: number) => Promise<number | null>;

export const HEALTH_CHECK_DEFAULTS = { intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 0 } as const;

/** The task definition's healthCheck with ECS's defaults for what it leaves out. */
export function healthCheckSpec(h: { command?: string[]; interval?: number; timeout?: number; retries?: number; startPeriod?: number }): HealthCheckSpec {
  return {
    command: h.command ?? [],
    intervalSeconds: h.interval ?? HEALTH_CHECK_DEFAULTS.intervalSeconds,
    timeoutSeconds: h.timeout ?? HEALTH_CHECK_DEFAULTS.timeoutSeconds,
    retries: h.retries ?? HEALTH_CHECK_DEFAULTS.retries,
    startPeriodSeconds: h.startPeriod ?? HEALTH_CHECK_DEFAULTS.startPeriodSeconds,
  };
}

/** The argv a health check command runs, or undefined when it is neither CMD nor CMD-SHELL form. */
export function probeArgv(command: string[]): string[] | undefined {
  const [kind, ...rest] = command;
  if (kind === "CMD" && rest.length > 0) return rest;
  if (kind === "CMD-SHELL" && rest.length > 0) return ["/bin/sh", "-c", rest.join(" ")];
  return undefined;
}

export interface HealthMonitorOptions {
  spec: HealthCheckSpec;
  exec: ProbeExec;
  /** wall-clock ms (the start period is real time, like the probes) */
  realNowMs: () => number;
  onChange: (status: HealthStatus) => void;
}

export class HealthMonitor {
  private current: HealthStatus = "UNKNOWN";
  private failures = 0;
  private succeededOnce = false;
  private startedAtMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly argv: string[] | undefined;

  constructor(private readonly opts: HealthMonitorOptions) {
    this.argv = probeArgv(opts.spec.command);
  }

  get status(): HealthStatus {
    return this.current;
  }

  start(): void {
    this.startedAtMs = this.opts.realNowMs();
    this.scheduleNext();
  }

  /** No further probes; the status stays as it was last reported. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.probe(), this.opts.spec.intervalSeconds * 1000);
    this.timer.unref?.();
  }

  private async probe(): Promise<void> {
    this.timer = undefined;
    let ok = false;
    if (this.argv) {
      try {
        ok = (await this.opts.exec(this.argv, this.opts.spec.timeoutSeconds * 1000)) === 0;
      } catch {
        ok = false;
      }
    }
    if (this.stopped) return;
    this.record(ok);
    this.scheduleNext();
  }

  private record(ok: boolean): void {
    if (ok) {
      this.failures = 0;
      this.succeededOnce = true;
      this.set("HEALTHY");
      return;
    }
    const inStartPeriod = this.opts.realNowMs() - this.startedAtMs < this.opts.spec.startPeriodSeconds * 1000;
    if (inStartPeriod && !this.succeededOnce) return;
    this.failures++;
    if (this.failures >= this.opts.spec.retries) this.set("UNHEALTHY");
  }

  private set(status: HealthStatus): void {
    if (status === this.current) return;
    this.current = status;
    this.opts.onChange(status);
  }
}
