/**
 * CloudTrail event IDs: UUIDs whose first 48 bits are the time (RFC 9562 version 7), so each
 * new ID sorts after the last one. LookupEvents finds an event by its ID through an index keyed
 * on the ID; random (version 4) IDs land on a random index page every time, which made that one
 * index row cost about a third of recording an event. Time-ordered IDs are appended instead.
 * The format is the same 8-4-4-4-12 lower-case hex UUID that AWS returns. The time is the
 * event's (service clock), so an ID agrees with its record's eventTime, except for an event
 * recorded after a later one (a service event dated in the past): IDs never go backwards.
 */
import { randomFillSync } from "node:crypto";

const pool = Buffer.alloc(16 * 256);
let poolOffset = pool.length;
let lastMs = 0;
let sequence = 0;

function randomBytes8(): Buffer {
  if (poolOffset + 8 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const b = pool.subarray(poolOffset, poolOffset + 8);
  poolOffset += 8;
  return b;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A new version 7 UUID for an event at `timeMs`, greater than every ID this process made before. */
export function newEventId(timeMs: number): string {
  const nowMs = Math.floor(timeMs);
  // 12-bit sequence in rand_a keeps IDs made in the same millisecond in order (RFC 9562, 6.2 method 1).
  if (nowMs > lastMs) {
    lastMs = nowMs;
    sequence = 0;
  } else if (++sequence > 0xfff) {
    lastMs += 1;
    sequence = 0;
  }
  const b = Buffer.alloc(16);
  b.writeUIntBE(lastMs, 0, 6);
  b[6] = 0x70 | (sequence >> 8);
  b[7] = sequence & 0xff;
  randomBytes8().copy(b, 8);
  b[8] = (b[8] & 0x3f) | 0x80; // variant 10
  let s = "";
  for (let i = 0; i < 16; i++) {
    s += HEX[b[i]];
    if (i === 3 || i === 5 || i === 7 || i === 9) s += "-";
  }
  return s;
}

/** The millisecond time in a version 7 event ID (its first 48 bits), or undefined for any other ID. */
export function eventIdTimeMs(id: string): number | undefined {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-/.exec(id);
  return m ? parseInt(m[1] + m[2], 16) : undefined;
}
