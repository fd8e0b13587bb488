import { describe, it, expect } from "vitest";
import { Store } from "../../store/store.ts";
import { ServiceClock } from "../../clock/clock.ts";
import { ServiceError } from "../../kernel/errors.ts";
import type { AppContext } from "../../kernel/context.ts";
import type { SomeOperation } from "../../kernel/operation.ts";
import type { ServiceDef } from "../../kernel/service.ts";
import { newContext } from "../../server/dispatcher.ts";
import { iamShapes } from "../../protocol/shapes/iam.gen.ts";
import { IamIdentity } from "./identity.ts";
import { iamOperations } from "./index.ts";
import { SecretSealer } from "./secrets.ts";
import { IamState } from "./state.ts";

const ACCOUNT = "111122223333";
const ROOT = { type: "Root" as const, accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, principalId: ACCOUNT };

function setup() {
  const store = new Store(null);
  const state = new IamState(store);
  const sealer = new SecretSealer(null);
  const operations = iamOperations({ state, sealer, identity: new IamIdentity(state, sealer, () => undefined) });
  const svc: ServiceDef = {
    name: "iam",
    signingName: "iam",
    iamPrefix: "iam",
    protocol: "query",
    shapes: iamShapes,
    eventSource: "iam.amazonaws.com",
    globalRegion: "us-east-1",
    operations,
  };
  const app = { store, clock: new ServiceClock(0), services: new Map([["iam", svc]]), credentialProviders: [], dueRunners: [], health: {}, options: {} } as unknown as AppContext;
  const ctxFor = (operation: string) =>
    newContext(app, svc, operation, { region: "us-east-1", principal: ROOT, sourceIp: "127.0.0.1", userAgent: "test", secureTransport: false, internal: false });
  return { operations: operations as Readonly<Record<string, SomeOperation>>, ctxFor };
}

/** Runs resolve and authorize as the dispatcher does, then the handler. */
async function run(op: SomeOperation, ctx: ReturnType<ReturnType<typeof setup>["ctxFor"]>, input: object) {
  const resolved = op.resolve ? op.resolve(ctx, input) : undefined;
  const checks = op.authorize(ctx, input, resolved);
  let error: unknown;
  try {
    await op.handler(ctx, input, resolved);
  } catch (e) {
    error = e;
  }
  return { checks, error };
}

describe("IAM operations follow the operation contract", () => {
  it("every operation resolves, authorizes and handles in functions named for what they do", () => {
    const { operations } = setup();
    expect(Object.keys(operations).sort()).toEqual(Object.keys(iamShapes.operations).sort());
    for (const [name, op] of Object.entries(operations)) {
      expect(op.resolve, name).toBeTypeOf("function");
      // CloudTrail readOnly: the Get, List and Simulate calls
      expect(op.readOnly === true, name).toBe(/^(Get|List|Simulate)/.test(name));
      for (const fn of [op.resolve!, op.authorize, op.handler]) expect(["", "resolve", "authorize", "handler"], `${name}: ${fn.name}`).not.toContain(fn.name);
    }
  });

  // A caller who may not act on a name must not learn whether it exists: authorization
  // is on the ARN the name would have (path "/"), and NoSuchEntity comes from the handler.
  const missing: [string, object, string][] = [
    ["GetUser", { UserName: "ghost" }, `arn:aws:iam::${ACCOUNT}:user/ghost`],
    ["DeleteRole", { RoleName: "ghost" }, `arn:aws:iam::${ACCOUNT}:role/ghost`],
    ["GetGroup", { GroupName: "ghost" }, `arn:aws:iam::${ACCOUNT}:group/ghost`],
    ["PutUserPolicy", { UserName: "ghost", PolicyName: "p", PolicyDocument: "{}" }, `arn:aws:iam::${ACCOUNT}:user/ghost`],
    ["AttachRolePolicy", { RoleName: "ghost", PolicyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess" }, `arn:aws:iam::${ACCOUNT}:role/ghost`],
    ["GetPolicy", { PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/ghost` }, `arn:aws:iam::${ACCOUNT}:policy/ghost`],
    ["ListMFADeviceTags", { SerialNumber: `arn:aws:iam::${ACCOUNT}:mfa/ghost` }, `arn:aws:iam::${ACCOUNT}:mfa/ghost`],
    ["SimulatePrincipalPolicy", { PolicySourceArn: `arn:aws:iam::${ACCOUNT}:user/ghost`, ActionNames: ["s3:GetObject"] }, `arn:aws:iam::${ACCOUNT}:user/ghost`],
  ];
  for (const [operation, input, arn] of missing) {
    it(`${operation} on a name that does not exist is authorized on ${arn.split(":").pop()} and answered NoSuchEntity by its handler`, async () => {
      const { operations, ctxFor } = setup();
      const { checks, error } = await run(operations[operation], ctxFor(operation), input);
      expect(checks).toEqual([expect.objectContaining({ action: `iam:${operation}`, resource: arn })]);
      expect(error).toBeInstanceOf(ServiceError);
      expect((error as ServiceError).code).toBe("NoSuchEntity");
    });
  }

  it("CreateVirtualMFADevice audits the device it created, from the resolved serial number", async () => {
    const { operations, ctxFor } = setup();
    const op = operations.CreateVirtualMFADevice;
    const ctx = ctxFor("CreateVirtualMFADevice");
    const input = { VirtualMFADeviceName: "phone", Path: "/team/" };
    const resolved = op.resolve!(ctx, input);
    const output = await op.handler(ctx, input, resolved);
    expect(op.audit?.resources?.(ctx, input, resolved, output)).toEqual([{ ARN: `arn:aws:iam::${ACCOUNT}:mfa/team/phone`, accountId: ACCOUNT, type: "AWS::IAM::MFADevice" }]);
  });
});
