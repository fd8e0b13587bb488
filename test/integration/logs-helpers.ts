/** Shared helpers for the CloudWatch Logs integration tests. */
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand, type InputLogEvent } from "@aws-sdk/client-cloudwatch-logs";

export async function groupWithStream(logs: CloudWatchLogsClient, group: string, stream: string, kmsKeyId?: string): Promise<void> {
  await logs.send(new CreateLogGroupCommand({ logGroupName: group, kmsKeyId }));
  await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
}

/** Events `messages`, one millisecond apart, ending `agoMs` before `nowMs`. */
export function eventsAt(nowMs: number, messages: string[], agoMs = 0): InputLogEvent[] {
  return messages.map((message, i) => ({ timestamp: nowMs - agoMs - (messages.length - 1 - i), message }));
}

export async function put(logs: CloudWatchLogsClient, group: string, stream: string, events: InputLogEvent[]) {
  return logs.send(new PutLogEventsCommand({ logGroupName: group, logStreamName: stream, logEvents: events }));
}

/** The server's service clock, as its Date header tells it (the tests move the clock). */
export async function serverNow(url: string): Promise<number> {
  const r = await fetch(`${url}/_localfargate/clock`);
  const body = (await r.json()) as { now?: string; nowMs?: number };
  return body.nowMs ?? Date.parse(body.now!);
}
