/**
 * AWS's event stream message encoding (application/vnd.amazon.eventstream), as the service
 * writes it: a 12-byte prelude (total length, headers length, the prelude's CRC32), the headers,
 * the payload and the whole message's CRC32, all big-endian
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTSelectObjectAppendix.html and
 * https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-event-stream).
 * Only string headers (type 7) are written: every header a service sends is one.
 */
import { crc32 } from "node:zlib";

export const EVENT_STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream";

const STRING_HEADER = 7;
const PRELUDE_BYTES = 12;
const CRC_BYTES = 4;

/** One message with string headers and a payload. */
export function encodeMessage(headers: Record<string, string>, payload: Buffer): Buffer {
  const encoded = Object.entries(headers).map(([name, value]) => {
    const n = Buffer.from(name, "utf8");
    const v = Buffer.from(value, "utf8");
    if (n.length > 255 || v.length > 65_535) throw new Error(`event stream header ${name} is too long`);
    const h = Buffer.allocUnsafe(1 + n.length + 1 + 2 + v.length);
    h.writeUInt8(n.length, 0);
    n.copy(h, 1);
    h.writeUInt8(STRING_HEADER, 1 + n.length);
    h.writeUInt16BE(v.length, 2 + n.length);
    v.copy(h, 4 + n.length);
    return h;
  });
  const headersLength = encoded.reduce((sum, h) => sum + h.length, 0);
  const total = PRELUDE_BYTES + headersLength + payload.length + CRC_BYTES;
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(headersLength, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  let at = PRELUDE_BYTES;
  for (const h of encoded) at += h.copy(out, at);
  at += payload.copy(out, at);
  out.writeUInt32BE(crc32(out.subarray(0, at)), at);
  return out;
}

/** An event of a JSON protocol's stream: `:event-type` names the union member, the payload is its JSON. */
export function jsonEvent(eventType: string, body: unknown): Buffer {
  return encodeMessage({ ":message-type": "event", ":event-type": eventType, ":content-type": "application/json" }, Buffer.from(JSON.stringify(body), "utf8"));
}

/** A modeled error ending the stream: `:exception-type` names the union member. */
export function jsonException(exceptionType: string, message: string): Buffer {
  return encodeMessage({ ":message-type": "exception", ":exception-type": exceptionType, ":content-type": "application/json" }, Buffer.from(JSON.stringify({ message }), "utf8"));
}
