/**
 * An operation whose output is an event stream (CloudWatch Logs' StartLiveTail) returns an
 * EventStreamOutput from its handler: the front door answers 200 with
 * `application/vnd.amazon.eventstream` and runs `run` with a sink that frames each event as it
 * is sent (docs/ARCHITECTURE.md#streamed-replies).
 */
export interface EventStreamSink {
  /** sends one event (a member of the output's union); false once the client is gone */
  event(eventType: string, body: unknown): boolean;
  /** sends a modeled error of the stream (a member of the union) and ends it */
  fail(exceptionType: string, message: string): void;
  /** ends the stream and closes the connection */
  end(): void;
  /** bytes sent but not yet taken by the client: a producer drops what a slow reader cannot take */
  buffered(): number;
  /** called once when the stream ends for any reason: ended here, the client went away, or the server closed */
  onClose(fn: () => void): void;
}

export class EventStreamOutput {
  constructor(readonly run: (sink: EventStreamSink) => void) {}
}
