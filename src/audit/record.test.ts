import { describe, it, expect } from "vitest";
import { buildServiceEventRecord, isoSeconds, recordsPerAccount } from "./record.ts";
import { anonymousPrincipal } from "../auth/principal.ts";
import type { Principal } from "../kernel/principal.ts";

describe("isoSeconds", () => {
  it("formats to the second, also after a cached second and when time goes back", () => {
    expect(isoSeconds(new Date(Date.UTC(2026, 10, 29, 7, 40, 0, 123)))).toBe("2026-11-29T07:40:00Z");
    expect(isoSeconds(new Date(Date.UTC(2026, 10, 29, 7, 40, 0, 999)))).toBe("2026-11-29T07:40:00Z");
    expect(isoSeconds(new Date(Date.UTC(2026, 10, 29, 7, 40, 1, 0)))).toBe("2026-11-29T07:40:01Z");
    expect(isoSeconds(new Date(Date.UTC(2025, 0, 1, 0, 0, 0, 0)))).toBe("2025-01-01T00:00:00Z");
    expect(isoSeconds(new Date(Date.UTC(1969, 11, 31, 23, 59, 59, 500)))).toBe("1969-12-31T23:59:59Z");
  });
});

describe("event IDs", () => {
  it("carry the event's own time (service clock), as version 7 UUIDs", () => {
    const at = new Date(Date.UTC(2031, 0, 2, 3, 4, 5));
    const r = buildServiceEventRecord({ accountId: "111122223333", region: "us-east-1", eventSource: "kms.amazonaws.com", eventName: "RotateKey", eventTime: at }, new Date());
    const id = String(r.eventID);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at.getTime());
    expect(r.eventTime).toBe("2031-01-02T03:04:05Z");
  });
});

describe("recordsPerAccount", () => {
  const owner = "111122223333";
  const base = { eventTime: "2031-01-02T03:04:05Z", eventID: "e", recipientAccountId: owner, eventCategory: "Data" };
  const root = (accountId: string): Principal => ({ type: "Root", accountId, arn: `arn:aws:iam::${accountId}:root`, principalId: accountId });

  it("gives another account's caller its own copy of a data event, tied by sharedEventID", () => {
    const [mine, theirs] = recordsPerAccount(base, root("444455556666"));
    expect(mine).toMatchObject({ eventID: "e", recipientAccountId: owner });
    expect(theirs).toMatchObject({ recipientAccountId: "444455556666" });
    expect(theirs.eventID).not.toBe("e");
    expect(theirs.sharedEventID).toBe(mine.sharedEventID);
    expect(Object.keys(theirs).slice(-2)).toEqual(["sharedEventID", "eventCategory"]);
  });

  it("keeps one record for the owner's own calls, management events and callers without an account", () => {
    expect(recordsPerAccount(base, root(owner))).toEqual([base]);
    expect(recordsPerAccount({ ...base, eventCategory: "Management" }, root("444455556666"))).toHaveLength(1);
    expect(recordsPerAccount(base, anonymousPrincipal())).toEqual([base]);
    expect(recordsPerAccount(base, { type: "AWSService", accountId: "", arn: "ecs.amazonaws.com", principalId: "ecs.amazonaws.com" })).toEqual([base]);
  });
});
