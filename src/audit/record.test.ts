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

  it("keeps one record for the owner's own calls and callers without an account", () => {
    expect(recordsPerAccount(base, root(owner))).toEqual([base]);
    expect(recordsPerAccount(base, anonymousPrincipal())).toEqual([base]);
    expect(recordsPerAccount(base, { type: "AWSService", accountId: "", arn: "ecs.amazonaws.com", principalId: "ecs.amazonaws.com" })).toEqual([base]);
    expect(recordsPerAccount({ ...base, eventType: "AwsServiceEvent" }, root("444455556666"))).toHaveLength(1);
  });

  const caller = "444455556666";
  const user: Principal = {
    type: "IAMUser",
    accountId: caller,
    arn: `arn:aws:iam::${caller}:user/alice`,
    principalId: "AIDAEXAMPLE",
    userName: "alice",
    accessKeyId: "AKIAEXAMPLE",
  };
  const identity = { type: "IAMUser", principalId: "AIDAEXAMPLE", arn: user.arn, accountId: caller, accessKeyId: "AKIAEXAMPLE", userName: "alice" };
  const management = { ...base, userIdentity: identity, eventCategory: "Management" };

  it("delivers another account's management call to both accounts, the owner's naming only the account and principal id", () => {
    const [owners, callers] = recordsPerAccount(management, user);
    expect(owners).toMatchObject({ eventID: "e", recipientAccountId: owner, userIdentity: { type: "AWSAccount", principalId: "AIDAEXAMPLE", accountId: caller } });
    expect(Object.keys(owners.userIdentity as object)).toEqual(["type", "principalId", "accountId"]);
    expect(callers).toMatchObject({ recipientAccountId: caller, userIdentity: identity });
    expect(callers.eventID).not.toBe("e");
    expect(callers.sharedEventID).toBe(owners.sharedEventID);
    expect(JSON.stringify(owners)).not.toMatch(/alice|AKIAEXAMPLE/);
  });

  it("keeps a service's invokedBy in the owner's copy", () => {
    const via = { ...management, userIdentity: { ...identity, invokedBy: "secretsmanager.amazonaws.com" } };
    expect(recordsPerAccount(via, user)[0].userIdentity).toEqual({ type: "AWSAccount", principalId: "AIDAEXAMPLE", accountId: caller, invokedBy: "secretsmanager.amazonaws.com" });
  });

  it("gives a management call refused by policy to the caller's account only", () => {
    for (const errorCode of ["AccessDeniedException", "AccessDenied"]) {
      const refused = recordsPerAccount({ ...management, errorCode }, user);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ eventID: "e", recipientAccountId: caller, userIdentity: identity });
      expect(refused[0].sharedEventID).toBeUndefined();
    }
    // other failures reach the owner too
    expect(recordsPerAccount({ ...management, errorCode: "DisabledException" }, user).map((r) => r.recipientAccountId)).toEqual([owner, caller]);
    // a refused data event still reaches both
    expect(recordsPerAccount({ ...base, userIdentity: identity, errorCode: "AccessDenied" }, user)).toHaveLength(2);
  });
});
