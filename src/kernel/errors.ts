/**
 * The one error family every layer throws. The protocol layer turns it into the wire form
 * (awsJson `__type` + `X-Amzn-Errortype`, or awsQuery `ErrorResponse`); nothing else builds
 * HTTP error responses.
 */
export class ServiceError extends Error {
  readonly code: string;
  readonly status: number;
  /** true = client fault ("Sender"), false = server fault ("Receiver"). */
  readonly sender: boolean;
  /** Extra members to put in a JSON error body (e.g. ECS `reason`). */
  readonly extra?: Record<string, unknown>;
  /** Send the message as `Message` (capital M) in JSON bodies, as AWS does for some errors. */
  readonly capitalMessage: boolean;

  constructor(code: string, message: string, status = 400, opts: { sender?: boolean; extra?: Record<string, unknown>; capitalMessage?: boolean } = {}) {
    super(message);
    this.name = code;
    this.code = code;
    this.status = status;
    this.sender = opts.sender ?? status < 500;
    this.extra = opts.extra;
    this.capitalMessage = opts.capitalMessage ?? false;
  }
}

/** The Coral-style validation message AWS services emit for constraint failures. */
export function validationMessage(failures: string[]): string {
  const n = failures.length;
  return `${n} validation error${n === 1 ? "" : "s"} detected: ${failures.join("; ")}`;
}
