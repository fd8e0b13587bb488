/**
 * The `awslogs` log driver, on the control plane's side: what ECS's agent does for a container
 * whose task definition says `logConfiguration: {logDriver: "awslogs", options: {…}}`
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html).
 *
 * `open()` assumes the task's execution role as ecs-tasks.amazonaws.com, creates the log group
 * when `awslogs-create-group` is "true", creates the stream `prefix/container-name/task-id`, and
 * returns a writer that sends the container's output lines with PutLogEvents. Every call goes
 * through app.invoke as the role session, so the role's policies decide (a role without
 * logs:CreateLogStream or logs:PutLogEvents fails the open, which stops the task as AWS does)
 * and the group's key, if any, seals what is written.
 *
 * ECS reaches it with `app.find("awslogs")` when a task starts (the logs module composes after
 * ECS, so not at creation).
 */
import { StringDecoder } from "node:string_decoder";
import type { AppContext } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import { servicePrincipal } from "../../auth/principal.ts";
import type { Principal } from "../../kernel/principal.ts";
import { EVENT_OVERHEAD_BYTES, MAX_BATCH_BYTES } from "./put-events.ts";
import { eventStartPattern } from "./multiline.ts";

declare module "../../kernel/context.ts" {
  interface Provided {
    /** the awslogs log driver ECS uses for containers that log to CloudWatch Logs */
    awslogs: AwslogsDriver;
  }
}

export const ECS_TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com";
/** Docker's awslogs driver splits lines longer than this (the CloudWatch Logs event limit less its overhead) */
const MAX_EVENT_BYTES = 256 * 1024 - EVENT_OVERHEAD_BYTES;
const MAX_BATCH_EVENTS = 10_000;
const DEFAULT_MAX_BUFFER_BYTES = 1024 * 1024;

export interface AwslogsTask {
  accountId: string;
  /** the task's Region (the default for `awslogs-region`) */
  region: string;
  taskId: string;
  containerName: string;
  executionRoleArn?: string;
}

/** `logConfiguration.options` as the task definition gives them. */
export type AwslogsOptions = Record<string, string | undefined>;

export interface ContainerLog {
  readonly groupName: string;
  readonly streamName: string;
  /** one line of the container's stdout or stderr, stamped `timeMs` (default: now on the service clock) */
  write(line: string, timeMs?: number): void;
  /**
   * A chunk of raw output as the data plane reads it (ContainerOutputSink.append): split into
   * lines per stream, a partial last line kept until its newline (or `close`). Each line is
   * stamped `timeMs` (when the chunk that ends it was written), or now.
   */
  writeOutput(stream: "stdout" | "stderr", chunk: Buffer, timeMs?: number): void;
  /** `mode` is blocking: nothing is dropped, so the writer waits on `flush` when `backlogBytes` grows */
  readonly blocking: boolean;
  /** bytes buffered and not yet sent */
  readonly backlogBytes: number;
  /** sends what is buffered; resolves once it is stored (or refused: see `lastError`) */
  flush(): Promise<void>;
  /** flushes, then stops the timer */
  close(): Promise<void>;
  /** lines dropped in non-blocking mode because the buffer was full */
  readonly dropped: number;
  /** the last PutLogEvents refusal, if any (the container keeps running, as with AWS) */
  readonly lastError: Error | undefined;
}

/** The error a task stops with when the driver cannot start, in the words AWS's agent uses. */
function initError(cause: unknown): Error {
  const detail = cause instanceof ServiceError ? `${cause.code}: ${cause.message}` : (cause as Error).message;
  return new Error(`ResourceInitializationError: failed to validate logger args: ${detail}`);
}

export class AwslogsDriver {
  constructor(private readonly app: AppContext) {}

  async open(task: AwslogsTask, options: AwslogsOptions, flushEveryMs = 1000): Promise<ContainerLog> {
    const group = options["awslogs-group"];
    const region = options["awslogs-region"] ?? task.region;
    const prefix = options["awslogs-stream-prefix"];
    if (!group) throw initError(new Error("awslogs-group is required"));
    if (!prefix) throw initError(new Error("awslogs-stream-prefix is required for tasks on Fargate"));
    const mode = options.mode ?? "non-blocking";
    if (mode !== "blocking" && mode !== "non-blocking") throw initError(new Error(`invalid mode ${mode}: must be blocking or non-blocking`));
    const maxBuffer = options["max-buffer-size"] === undefined ? DEFAULT_MAX_BUFFER_BYTES : parseSize(options["max-buffer-size"]);
    if (maxBuffer === undefined) throw initError(new Error(`invalid max-buffer-size ${options["max-buffer-size"]}`));
    if (!task.executionRoleArn) throw initError(new Error("the awslogs log driver needs the task's execution role"));
    let startPattern: RegExp | undefined;
    try {
      startPattern = eventStartPattern(options);
    } catch (e) {
      throw initError(e);
    }
    const streamName = `${prefix}/${task.containerName}/${task.taskId}`;
    let principal: Principal;
    try {
      principal = await this.roleSession(task);
      const call = (op: string, input: Record<string, unknown>) => this.app.invoke("cloudwatchlogs", op, input, { principal, region });
      if (options["awslogs-create-group"] === "true") {
        await call("CreateLogGroup", { logGroupName: group }).catch((e: unknown) => {
          if (!(e instanceof ServiceError && e.code === "ResourceAlreadyExistsException")) throw e;
        });
      }
      await call("CreateLogStream", { logGroupName: group, logStreamName: streamName }).catch((e: unknown) => {
        if (!(e instanceof ServiceError && e.code === "ResourceAlreadyExistsException")) throw e;
      });
      return new BufferedLog(this.app, group, streamName, (events) => call("PutLogEvents", { logGroupName: group, logStreamName: streamName, logEvents: events }), {
        blocking: mode === "blocking",
        maxBuffer,
        flushEveryMs,
        startPattern,
      });
    } catch (e) {
      throw initError(e);
    }
  }

  /** The execution role's session, as ECS gets it: AssumeRole by ecs-tasks.amazonaws.com. */
  private async roleSession(task: AwslogsTask): Promise<Principal> {
    const out = await this.app.invoke<{ Credentials: { AccessKeyId: string } }>(
      "sts",
      "AssumeRole",
      { RoleArn: task.executionRoleArn, RoleSessionName: task.taskId },
      { principal: servicePrincipal(ECS_TASKS_PRINCIPAL, task.accountId), region: task.region },
    );
    const rec = this.app.get("sts").lookup(out.Credentials.AccessKeyId);
    if (!rec) throw new Error("the execution role's session was not found");
    return rec.principal;
  }
}

/** "1m", "512k", "2048" (bytes), as Docker's max-buffer-size takes them. */
function parseSize(v: string): number | undefined {
  const m = /^(\d+)([kmg]?)b?$/i.exec(v.trim());
  if (!m) return undefined;
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
  const n = Number(m[1]) * unit;
  return n > 0 ? n : undefined;
}

interface Pending {
  timestamp: number;
  message: string;
  bytes: number;
}

class BufferedLog implements ContainerLog {
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private sending: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly partial = { stdout: "", stderr: "" };
  private readonly partialTime: { stdout?: number; stderr?: number } = {};
  /** the multi-line event being built (awslogs-multiline-pattern, awslogs-datetime-format) */
  private event: { text: string; bytes: number; timestamp: number; fresh: boolean } | undefined;
  private readonly decoders = { stdout: new StringDecoder("utf8"), stderr: new StringDecoder("utf8") };
  dropped = 0;
  lastError: Error | undefined;

  constructor(
    private readonly app: AppContext,
    readonly groupName: string,
    readonly streamName: string,
    private readonly put: (events: { timestamp: number; message: string }[]) => Promise<unknown>,
    private readonly opts: { blocking: boolean; maxBuffer: number; flushEveryMs: number; startPattern?: RegExp },
  ) {
    this.timer = setInterval(() => this.tick(), opts.flushEveryMs);
    this.timer.unref();
  }

  get blocking(): boolean {
    return this.opts.blocking;
  }

  get backlogBytes(): number {
    return this.pendingBytes;
  }

  write(line: string, timeMs?: number): void {
    const timestamp = timeMs ?? this.app.clock.nowMs();
    if (this.opts.startPattern) this.joinLine(line, timestamp, this.opts.startPattern);
    else this.enqueue(line, timestamp);
  }

  /**
   * Multi-line events, as Docker's driver builds them: a line matching the start pattern (or one
   * that would make the event too long) ends the event being built; each line keeps its newline;
   * the event carries its first line's time.
   */
  private joinLine(line: string, timestamp: number, start: RegExp): void {
    if (line === "") return;
    const text = line + "\n";
    const bytes = Buffer.byteLength(text, "utf8");
    if (this.event && (start.test(line) || this.event.bytes + bytes > MAX_EVENT_BYTES)) this.endEvent();
    if (!this.event) this.event = { text: "", bytes: 0, timestamp, fresh: true };
    this.event.text += text;
    this.event.bytes += bytes;
    this.event.fresh = true;
  }

  private endEvent(): void {
    const e = this.event;
    this.event = undefined;
    if (e) this.enqueue(e.text, e.timestamp);
  }

  /** The timer: an event that got no line since the last tick is complete; then what is buffered is sent. */
  private tick(): void {
    if (this.event && !this.event.fresh) this.endEvent();
    else if (this.event) this.event.fresh = false;
    void this.flush();
  }

  private enqueue(line: string, timestamp: number): void {
    for (const message of splitLine(line)) {
      const bytes = Buffer.byteLength(message, "utf8") + EVENT_OVERHEAD_BYTES;
      if (!this.opts.blocking && this.pendingBytes + bytes > this.opts.maxBuffer) {
        this.dropped++;
        continue;
      }
      this.pending.push({ timestamp, message, bytes });
      this.pendingBytes += bytes;
    }
  }

  writeOutput(stream: "stdout" | "stderr", chunk: Buffer, timeMs?: number): void {
    const lines = (this.partial[stream] + this.decoders[stream].write(chunk)).split("\n");
    this.partial[stream] = lines.pop()!;
    this.partialTime[stream] = timeMs;
    for (const line of lines) this.write(line.endsWith("\r") ? line.slice(0, -1) : line, timeMs);
    // a line that never ends is sent in event-sized pieces rather than held without bound
    if (Buffer.byteLength(this.partial[stream], "utf8") > MAX_EVENT_BYTES) {
      this.write(this.partial[stream], timeMs);
      this.partial[stream] = "";
    }
  }

  flush(): Promise<void> {
    // one PutLogEvents at a time, in order: a stream's batches must not overtake each other
    this.sending = this.sending.then(() => this.sendAll());
    return this.sending;
  }

  private async sendAll(): Promise<void> {
    while (this.pending.length) {
      let bytes = 0;
      let n = 0;
      while (n < this.pending.length && n < MAX_BATCH_EVENTS && bytes + this.pending[n].bytes <= MAX_BATCH_BYTES) bytes += this.pending[n++].bytes;
      const batch = this.pending.splice(0, n);
      this.pendingBytes -= bytes;
      try {
        await this.put(batch.map(({ timestamp, message }) => ({ timestamp, message })));
        this.lastError = undefined;
      } catch (e) {
        this.lastError = e as Error;
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = this.partial[stream] + this.decoders[stream].end();
      this.partial[stream] = "";
      if (rest) this.write(rest, this.partialTime[stream]);
    }
    this.endEvent();
    await this.flush();
  }
}

/** A line as events: empty lines are not sent, long ones are split. */
function splitLine(line: string): string[] {
  if (line === "") return [];
  const buf = Buffer.from(line, "utf8");
  if (buf.length <= MAX_EVENT_BYTES) return [line];
  const out: string[] = [];
  for (let i = 0; i < buf.length;) {
    let end = Math.min(i + MAX_EVENT_BYTES, buf.length);
    while (end < buf.length && (buf[end] & 0xc0) === 0x80) end--; // never split a UTF-8 sequence
    out.push(buf.subarray(i, end).toString("utf8"));
    i = end;
  }
  return out;
}
