import { describe, expect, it } from "vitest";
import { EventStreamCodec } from "@smithy/core/event-streams";
import { encodeMessage, jsonEvent, jsonException } from "./event-stream.ts";

const toUtf8 = (b: Uint8Array | string) => (typeof b === "string" ? b : Buffer.from(b).toString("utf8"));
const fromUtf8 = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));
const codec = new EventStreamCodec(toUtf8, fromUtf8);

describe("event stream messages", () => {
  it("decode with the SDK's codec (prelude and message CRCs checked)", () => {
    const m = codec.decode(jsonEvent("sessionUpdate", { sessionResults: [{ message: "héllo" }] }));
    expect(m.headers[":message-type"]).toEqual({ type: "string", value: "event" });
    expect(m.headers[":event-type"]).toEqual({ type: "string", value: "sessionUpdate" });
    expect(JSON.parse(toUtf8(m.body))).toEqual({ sessionResults: [{ message: "héllo" }] });
    const e = codec.decode(jsonException("SessionTimeoutException", "over"));
    expect(e.headers[":exception-type"].value).toBe("SessionTimeoutException");
  });

  it("with no headers and no payload is 16 bytes", () => {
    const m = encodeMessage({}, Buffer.alloc(0));
    expect(m.length).toBe(16);
    expect(codec.decode(m).body.length).toBe(0);
  });

  it("a corrupted byte fails the CRC", () => {
    const m = jsonEvent("sessionStart", {});
    m[m.length - 6] ^= 1;
    expect(() => codec.decode(m)).toThrow(/checksum/i);
  });
});
