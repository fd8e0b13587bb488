/** IAM virtual MFA devices and MFA-verified STS sessions through @aws-sdk/client-iam and client-sts. */
import { describe, it, expect } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  IAMClient,
  CreateRoleCommand,
  CreateUserCommand,
  CreateVirtualMFADeviceCommand,
  DeactivateMFADeviceCommand,
  DeleteUserCommand,
  DeleteVirtualMFADeviceCommand,
  EnableMFADeviceCommand,
  GetUserCommand,
  ListMFADevicesCommand,
  ListUsersCommand,
  ListVirtualMFADevicesCommand,
  ListMFADeviceTagsCommand,
  ResyncMFADeviceCommand,
  TagMFADeviceCommand,
  UntagMFADeviceCommand,
  type VirtualMFADevice,
} from "@aws-sdk/client-iam";
import { STSClient, AssumeRoleCommand, GetCallerIdentityCommand, GetSessionTokenCommand, type Credentials } from "@aws-sdk/client-sts";
import jsqrModule from "jsqr";
import { PNG } from "pngjs";
import { startTestServer, useTestServer, type TestServer } from "../support/server.ts";
import { base32Decode, codeAt } from "../../src/services/iam/totp.ts";
import { ACCOUNT, allow, doc, enableMfa, expectAwsError, serverStep, trustPrincipal, userWithKey, type Creds } from "./iam-helpers.ts";

let s: TestServer;
let iam: IAMClient;
useTestServer((server) => {
  s = server;
  iam = new IAMClient(s.config);
});

const asCreds = (c: Credentials): Creds => ({ accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! });
const stsAs = (c: Creds) => new STSClient(s.configFor(c));
// jsqr is CommonJS: under NodeNext its default export is the module object, whose default is the decoder.
const jsQR = jsqrModule.default;
const INVALID_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code.";
const UNVALIDATED = "MultiFactorAuthentication failed, unable to validate MFA code.";
const seedOf = (d: VirtualMFADevice) => Buffer.from(d.Base32StringSeed!).toString("ascii");
/** A code that is none of the device's codes around `step`. */
function wrongCode(seed: string, step: number): string {
  const key = base32Decode(seed)!;
  const near = new Set([-12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((k) => codeAt(key, step + k)));
  for (let n = 0; ; n++) {
    const c = String(n).padStart(6, "0");
    if (!near.has(c)) return c;
  }
}

describe("CreateVirtualMFADevice", () => {
  it("returns the serial number, a 64-character Base32 seed and a PNG QR code of the otpauth URI", async () => {
    const r = await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "qr-device", Path: "/team/", Tags: [{ Key: "owner", Value: "ops" }] }));
    const d = r.VirtualMFADevice!;
    expect(d.SerialNumber).toBe(`arn:aws:iam::${ACCOUNT}:mfa/team/qr-device`);
    const seed = seedOf(d);
    expect(seed).toMatch(/^[A-Z2-7]{64}$/);
    expect(d.Tags).toEqual([{ Key: "owner", Value: "ops" }]);
    const png = Buffer.from(d.QRCodePNG!);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const image = PNG.sync.read(png);
    const qr = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
    expect(qr?.data).toBe(`otpauth://totp/Amazon%20Web%20Services:qr-device@${ACCOUNT}?secret=${seed}&issuer=Amazon%20Web%20Services`);
  });

  it("refuses a second device with the same name (any case and path)", async () => {
    await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "twice" }));
    await expectAwsError(
      iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "TWICE", Path: "/other/" })),
      "EntityAlreadyExistsException",
      409,
      "MFADevice entity at the same path and name already exists.",
    );
    await expectAwsError(iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "bad name" })), "ValidationError", 400);
    await expectAwsError(iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "n".repeat(227) })), "ValidationError", 400, /length less than or equal to 226/);
    await expectAwsError(iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "n".repeat(200), Path: `/${"p".repeat(40)}/` })), "InvalidInputException", 400);
    const longest = await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "n".repeat(226) }));
    expect(longest.VirtualMFADevice!.SerialNumber).toHaveLength(256);
    expect(Buffer.from(longest.VirtualMFADevice!.QRCodePNG!).subarray(1, 4).toString()).toBe("PNG");
  });

  it("tags devices with TagMFADevice, UntagMFADevice and ListMFADeviceTags", async () => {
    const serial = (await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "tagged", Tags: [{ Key: "b", Value: "1" }] }))).VirtualMFADevice!.SerialNumber!;
    await iam.send(
      new TagMFADeviceCommand({
        SerialNumber: serial,
        Tags: [
          { Key: "a", Value: "2" },
          { Key: "B", Value: "3" },
        ],
      }),
    );
    expect((await iam.send(new ListMFADeviceTagsCommand({ SerialNumber: serial }))).Tags).toEqual([
      { Key: "a", Value: "2" },
      { Key: "B", Value: "3" },
    ]);
    const page = await iam.send(new ListMFADeviceTagsCommand({ SerialNumber: serial, MaxItems: 1 }));
    expect(page).toMatchObject({ Tags: [{ Key: "a", Value: "2" }], IsTruncated: true });
    await iam.send(new UntagMFADeviceCommand({ SerialNumber: serial, TagKeys: ["a"] }));
    expect((await iam.send(new ListMFADeviceTagsCommand({ SerialNumber: serial }))).Tags).toEqual([{ Key: "B", Value: "3" }]);
    const missing = `arn:aws:iam::${ACCOUNT}:mfa/missing`;
    await expectAwsError(
      iam.send(new TagMFADeviceCommand({ SerialNumber: missing, Tags: [{ Key: "a", Value: "1" }] })),
      "NoSuchEntityException",
      404,
      `MFA Device with serial number ${missing} does not exist.`,
    );
    await expectAwsError(iam.send(new ListMFADeviceTagsCommand({ SerialNumber: missing })), "NoSuchEntityException", 404);
    await expectAwsError(
      iam.send(
        new TagMFADeviceCommand({
          SerialNumber: serial,
          Tags: [
            { Key: "x", Value: "1" },
            { Key: "X", Value: "2" },
          ],
        }),
      ),
      "InvalidInputException",
      400,
    );
  });

  it("needs iam:CreateVirtualMFADevice on the device's ARN", async () => {
    const creds = await userWithKey(iam, "mfa-creator", doc([allow("iam:CreateVirtualMFADevice", `arn:aws:iam::${ACCOUNT}:mfa/\${aws:username}`)]));
    const asUser = new IAMClient(s.configFor(creds));
    await expect(asUser.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "mfa-creator" }))).resolves.toBeDefined();
    await expectAwsError(
      asUser.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "someone-else" })),
      "AccessDenied",
      403,
      `User: arn:aws:iam::${ACCOUNT}:user/mfa-creator is not authorized to perform: iam:CreateVirtualMFADevice on resource: arn:aws:iam::${ACCOUNT}:mfa/someone-else because no identity-based policy allows the iam:CreateVirtualMFADevice action`,
    );
  });
});

describe("EnableMFADevice", () => {
  it("needs two consecutive codes of the device, and assigns it to one user only", async () => {
    await iam.send(new CreateUserCommand({ UserName: "enabler" }));
    await iam.send(new CreateUserCommand({ UserName: "other-enabler" }));
    const d = (await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "enabler" }))).VirtualMFADevice!;
    const key = base32Decode(seedOf(d))!;
    const now = await serverStep(s.url);
    const serial = d.SerialNumber!;
    const enable = (c1: string, c2: string, user = "enabler", sn = serial) =>
      iam.send(new EnableMFADeviceCommand({ UserName: user, SerialNumber: sn, AuthenticationCode1: c1, AuthenticationCode2: c2 }));
    const invalid = "Authentication code for device is not valid.";
    await expectAwsError(enable(wrongCode(seedOf(d), now), codeAt(key, now)), "InvalidAuthenticationCodeException", 403, invalid);
    // the same code twice, or two codes in the wrong order, are not consecutive
    await expectAwsError(enable(codeAt(key, now), codeAt(key, now)), "InvalidAuthenticationCodeException", 403, invalid);
    await expectAwsError(enable(codeAt(key, now), codeAt(key, now - 1)), "InvalidAuthenticationCodeException", 403, invalid);
    // codes from long ago are not accepted
    await expectAwsError(enable(codeAt(key, now - 40), codeAt(key, now - 39)), "InvalidAuthenticationCodeException", 403, invalid);
    await expectAwsError(enable(codeAt(key, now - 1), codeAt(key, now), "nobody"), "NoSuchEntityException", 404, "The user with name nobody cannot be found.");
    await expectAwsError(enable(codeAt(key, now - 1), codeAt(key, now), "enabler", `arn:aws:iam::${ACCOUNT}:mfa/none`), "NoSuchEntityException", 404);
    await expectAwsError(enable("12345", "123456"), "ValidationError", 400);
    expect((await iam.send(new ListMFADevicesCommand({ UserName: "enabler" }))).MFADevices).toEqual([]);

    await enable(codeAt(key, now - 1), codeAt(key, now));
    const listed = (await iam.send(new ListMFADevicesCommand({ UserName: "enabler" }))).MFADevices!;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ UserName: "enabler", SerialNumber: serial });
    expect(listed[0].EnableDate).toBeInstanceOf(Date);
    await expectAwsError(enable(codeAt(key, now), codeAt(key, now + 1), "other-enabler"), "EntityAlreadyExistsException", 409, "MFA Device is already in use.");
  });

  it("remembers how far ahead the device's clock runs", async () => {
    const creds = await userWithKey(iam, "ahead");
    const d = (await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "ahead" }))).VirtualMFADevice!;
    const key = base32Decode(seedOf(d))!;
    const now = await serverStep(s.url);
    await iam.send(
      new EnableMFADeviceCommand({ UserName: "ahead", SerialNumber: d.SerialNumber, AuthenticationCode1: codeAt(key, now + 4), AuthenticationCode2: codeAt(key, now + 5) }),
    );
    const sts = stsAs(creds);
    await expectAwsError(sts.send(new GetSessionTokenCommand({ SerialNumber: d.SerialNumber, TokenCode: codeAt(key, now + 1) })), "AccessDenied", 403, INVALID_CODE);
    await expect(sts.send(new GetSessionTokenCommand({ SerialNumber: d.SerialNumber, TokenCode: codeAt(key, now + 6) }))).resolves.toBeDefined();
  });

  it("allows eight devices per user", async () => {
    await iam.send(new CreateUserCommand({ UserName: "many-devices" }));
    for (let n = 0; n < 8; n++) await enableMfa(iam, s.url, "many-devices", `many-${n}`);
    const d = (await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "many-8" }))).VirtualMFADevice!;
    const key = base32Decode(seedOf(d))!;
    const now = await serverStep(s.url);
    await expectAwsError(
      iam.send(
        new EnableMFADeviceCommand({ UserName: "many-devices", SerialNumber: d.SerialNumber, AuthenticationCode1: codeAt(key, now - 1), AuthenticationCode2: codeAt(key, now) }),
      ),
      "LimitExceededException",
      409,
      "Cannot exceed quota for MFADevicesPerUser: 8",
    );
    // paging through a user's devices
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await iam.send(new ListMFADevicesCommand({ UserName: "many-devices", MaxItems: 3, Marker: marker }));
      expect(page.MFADevices!.length).toBeLessThanOrEqual(3);
      seen.push(...page.MFADevices!.map((m) => m.SerialNumber!));
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    expect(seen).toEqual([...Array(8).keys()].map((n) => `arn:aws:iam::${ACCOUNT}:mfa/many-${n}`));
  });
});

describe("GetSessionToken with MFA", () => {
  it("accepts the device's current code once, and refuses wrong codes and other users' devices", async () => {
    const creds = await userWithKey(iam, "gst-mfa", doc([allow("iam:GetUser")]));
    const device = await enableMfa(iam, s.url, "gst-mfa");
    const sts = stsAs(creds);
    const wrong = wrongCode(device.seed, await serverStep(s.url));
    await expectAwsError(sts.send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: wrong })), "AccessDenied", 403, INVALID_CODE);
    const code = await device.code();
    const c = (await sts.send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: code }))).Credentials!;
    expect((await new IAMClient(s.configFor(asCreds(c))).send(new GetUserCommand({}))).User!.UserName).toBe("gst-mfa");
    // a code is good for one session only
    await expectAwsError(sts.send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: code })), "AccessDenied", 403, INVALID_CODE);
    // the next step's code works once the clock gets there
    await s.advanceClock(30);
    await expect(sts.send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: await device.code(1) }))).resolves.toBeDefined();

    // another user's device, an unknown serial number, a serial number without a code
    const other = await userWithKey(iam, "gst-mfa-other");
    await expectAwsError(stsAs(other).send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: await device.code(1) })), "AccessDenied", 403, UNVALIDATED);
    await expectAwsError(sts.send(new GetSessionTokenCommand({ SerialNumber: `arn:aws:iam::${ACCOUNT}:mfa/nothing`, TokenCode: "123456" })), "AccessDenied", 403, UNVALIDATED);
    await expectAwsError(sts.send(new GetSessionTokenCommand({ SerialNumber: device.serial })), "AccessDenied", 403, UNVALIDATED);
    // the account root has no API-enabled device
    await expectAwsError(
      new STSClient(s.config).send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: await device.code(1) })),
      "AccessDenied",
      403,
      UNVALIDATED,
    );
  });

  it("after five wrong codes in a row the device accepts none for five minutes", async () => {
    const creds = await userWithKey(iam, "guessed");
    const device = await enableMfa(iam, s.url, "guessed");
    const sts = stsAs(creds);
    const wrong = wrongCode(device.seed, await serverStep(s.url));
    for (let n = 0; n < 5; n++) {
      await expectAwsError(sts.send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: wrong })), "AccessDenied", 403, INVALID_CODE);
    }
    await expectAwsError(sts.send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: await device.code() })), "AccessDenied", 403, INVALID_CODE);
    await s.advanceClock(301);
    await expect(sts.send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: await device.code() }))).resolves.toBeDefined();
  });

  it("sets aws:MultiFactorAuthAge from when the code was verified", async () => {
    const creds = await userWithKey(
      iam,
      "mfa-age",
      doc([allow("iam:ListUsers", "*", { Condition: { NumericLessThan: { "aws:MultiFactorAuthAge": "300" } } }), allow("iam:GetUser")]),
    );
    // without MFA the key is absent, so the condition does not match
    await expectAwsError(new IAMClient(s.configFor(creds)).send(new ListUsersCommand({})), "AccessDenied", 403);
    const device = await enableMfa(iam, s.url, "mfa-age");
    const c = (await stsAs(creds).send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: await device.code() }))).Credentials!;
    const session = new IAMClient(s.configFor(asCreds(c)));
    await expect(session.send(new ListUsersCommand({ MaxItems: 1 }))).resolves.toBeDefined();
    await s.advanceClock(301);
    await expectAwsError(session.send(new ListUsersCommand({ MaxItems: 1 })), "AccessDenied", 403);
    await expect(session.send(new GetUserCommand({}))).resolves.toBeDefined();
  });
});

describe("AssumeRole with MFA", () => {
  it("a role whose trust policy requires MFA is assumable only with a valid code", async () => {
    const creds = await userWithKey(iam, "mfa-assumer", doc([allow("sts:AssumeRole")]));
    const userArn = `arn:aws:iam::${ACCOUNT}:user/mfa-assumer`;
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/needs-mfa`;
    await iam.send(
      new CreateRoleCommand({ RoleName: "needs-mfa", AssumeRolePolicyDocument: trustPrincipal(userArn, { Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } } }) }),
    );
    const device = await enableMfa(iam, s.url, "mfa-assumer");
    const sts = stsAs(creds);
    const denied = `User: ${userArn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`;
    await expectAwsError(sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "no-mfa" })), "AccessDenied", 403, denied);
    await expectAwsError(
      sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "bad", SerialNumber: device.serial, TokenCode: wrongCode(device.seed, await serverStep(s.url)) })),
      "AccessDenied",
      403,
      INVALID_CODE,
    );
    const r = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "with-mfa", SerialNumber: device.serial, TokenCode: await device.code() }));
    expect((await stsAs(asCreds(r.Credentials!)).send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/needs-mfa/with-mfa`);

    // credentials from GetSessionToken with MFA carry it into AssumeRole
    await s.advanceClock(30);
    const gst = (await sts.send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: await device.code(1) }))).Credentials!;
    await expect(stsAs(asCreds(gst)).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "via-session" }))).resolves.toBeDefined();
  });

  it("requires aws:MultiFactorAuthAge within the trust policy's limit", async () => {
    const creds = await userWithKey(iam, "mfa-age-assumer", doc([allow("sts:AssumeRole")]));
    const userArn = `arn:aws:iam::${ACCOUNT}:user/mfa-age-assumer`;
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/fresh-mfa`;
    await iam.send(
      new CreateRoleCommand({ RoleName: "fresh-mfa", AssumeRolePolicyDocument: trustPrincipal(userArn, { Condition: { NumericLessThan: { "aws:MultiFactorAuthAge": "600" } } }) }),
    );
    const device = await enableMfa(iam, s.url, "mfa-age-assumer");
    const gst = asCreds((await stsAs(creds).send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: await device.code() }))).Credentials!);
    await expect(stsAs(gst).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "fresh" }))).resolves.toBeDefined();
    await s.advanceClock(601);
    await expectAwsError(stsAs(gst).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "stale" })), "AccessDenied", 403);
  });
});

describe("ResyncMFADevice", () => {
  it("follows a device whose clock drifted, with two consecutive codes", async () => {
    const creds = await userWithKey(iam, "drifter");
    const device = await enableMfa(iam, s.url, "drifter");
    const key = base32Decode(device.seed)!;
    const now = await serverStep(s.url);
    // The device runs 6 steps (3 minutes) ahead: its codes are refused until it is resynchronized.
    await expectAwsError(stsAs(creds).send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: codeAt(key, now + 6) })), "AccessDenied", 403, INVALID_CODE);
    const resync = (c1: string, c2: string, user = "drifter") =>
      iam.send(new ResyncMFADeviceCommand({ UserName: user, SerialNumber: device.serial, AuthenticationCode1: c1, AuthenticationCode2: c2 }));
    await expectAwsError(resync(codeAt(key, now + 6), codeAt(key, now + 8)), "InvalidAuthenticationCodeException", 403, "Authentication code for device is not valid.");
    await expectAwsError(resync(codeAt(key, now + 5), codeAt(key, now + 6), "enabler"), "NoSuchEntityException", 404);
    await resync(codeAt(key, now + 5), codeAt(key, now + 6));
    await expect(stsAs(creds).send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: codeAt(key, now + 7) }))).resolves.toBeDefined();
    await expectAwsError(stsAs(creds).send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: codeAt(key, now + 1) })), "AccessDenied", 403, INVALID_CODE);
  });
});

describe("DeactivateMFADevice and DeleteVirtualMFADevice", () => {
  it("a device in use cannot be deleted; once deactivated it no longer counts as MFA", async () => {
    const creds = await userWithKey(iam, "leaver");
    const device = await enableMfa(iam, s.url, "leaver");
    await expectAwsError(iam.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: device.serial })), "DeleteConflictException", 409, "MFA Device is still in use.");
    await iam.send(new CreateUserCommand({ UserName: "leaver-no-key" }));
    const noKey = await enableMfa(iam, s.url, "leaver-no-key");
    await expectAwsError(iam.send(new DeleteUserCommand({ UserName: "leaver-no-key" })), "DeleteConflictException", 409, "Cannot delete entity, must delete MFA device first.");
    await iam.send(new DeactivateMFADeviceCommand({ UserName: "leaver-no-key", SerialNumber: noKey.serial }));
    await iam.send(new DeleteUserCommand({ UserName: "leaver-no-key" }));
    await expectAwsError(iam.send(new DeactivateMFADeviceCommand({ UserName: "enabler", SerialNumber: device.serial })), "NoSuchEntityException", 404);
    await expectAwsError(
      iam.send(new DeactivateMFADeviceCommand({ UserName: "nobody", SerialNumber: device.serial })),
      "NoSuchEntityException",
      404,
      "The user with name nobody cannot be found.",
    );

    // the user deactivates its own device (UserName defaults to the caller)
    const self = await userWithKey(iam, "self-service-2", doc([allow(["iam:DeactivateMFADevice", "iam:ListMFADevices"], `arn:aws:iam::${ACCOUNT}:user/\${aws:username}`)]));
    const own = await enableMfa(iam, s.url, "self-service-2");
    const asSelf = new IAMClient(s.configFor(self));
    expect((await asSelf.send(new ListMFADevicesCommand({}))).MFADevices!.map((m) => m.SerialNumber)).toEqual([own.serial]);
    await expectAwsError(asSelf.send(new ListMFADevicesCommand({ UserName: "leaver" })), "AccessDenied", 403);
    await asSelf.send(new DeactivateMFADeviceCommand({ SerialNumber: own.serial }));
    expect((await asSelf.send(new ListMFADevicesCommand({}))).MFADevices).toEqual([]);

    await iam.send(new DeactivateMFADeviceCommand({ UserName: "leaver", SerialNumber: device.serial }));
    await expectAwsError(stsAs(creds).send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: await device.code() })), "AccessDenied", 403, UNVALIDATED);
    const unassigned = (await iam.send(new ListVirtualMFADevicesCommand({ AssignmentStatus: "Unassigned" }))).VirtualMFADevices!;
    expect(unassigned.find((v) => v.SerialNumber === device.serial)).toEqual({ SerialNumber: device.serial });
    await iam.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: device.serial }));
    await expectAwsError(
      iam.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: device.serial })),
      "NoSuchEntityException",
      404,
      `MFA Device with serial number ${device.serial} does not exist.`,
    );
  });
});

describe("ListVirtualMFADevices", () => {
  it("filters by assignment status, names the user and pages", async () => {
    const all = async (status?: "Assigned" | "Unassigned" | "Any") => {
      const out: VirtualMFADevice[] = [];
      let marker: string | undefined;
      do {
        const page = await iam.send(new ListVirtualMFADevicesCommand({ AssignmentStatus: status, MaxItems: 2, Marker: marker }));
        expect(page.VirtualMFADevices!.length).toBeLessThanOrEqual(2);
        out.push(...page.VirtualMFADevices!);
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
      return out;
    };
    const any = await all();
    const assigned = await all("Assigned");
    const unassigned = await all("Unassigned");
    expect(any.length).toBeGreaterThan(4);
    expect(assigned.length + unassigned.length).toBe(any.length);
    expect(assigned.every((v) => v.User?.UserName && v.EnableDate instanceof Date)).toBe(true);
    expect(unassigned.every((v) => v.User === undefined && v.EnableDate === undefined)).toBe(true);
    // in device name order; the longest serial numbers still page (markers fit the model's 320 characters)
    const names = any.map((v) => v.SerialNumber!.slice(v.SerialNumber!.lastIndexOf("/") + 1).toLowerCase());
    expect(names).toEqual([...names].sort());
    expect(any.some((v) => v.SerialNumber!.length === 256)).toBe(true);
    expect(any.every((v) => v.Base32StringSeed === undefined && v.QRCodePNG === undefined)).toBe(true);
    const enabler = assigned.find((v) => v.SerialNumber === `arn:aws:iam::${ACCOUNT}:mfa/enabler`)!;
    expect(enabler.User).toMatchObject({ UserName: "enabler", Arn: `arn:aws:iam::${ACCOUNT}:user/enabler` });
    await expectAwsError(iam.send(new ListVirtualMFADevicesCommand({ AssignmentStatus: "Some" as "Any" })), "ValidationError", 400);
  });
});

describe("MFA devices across a restart", () => {
  it("keeps devices and assignments, with the seed sealed at rest", async () => {
    const srv = await startTestServer();
    try {
      const admin = new IAMClient(srv.config);
      const creds = await userWithKey(admin, "persisted");
      const device = await enableMfa(admin, srv.url, "persisted");
      await srv.stop();
      for (const f of readdirSync(srv.dataDir)) {
        if (f.endsWith(".db") || f.endsWith("-wal")) expect(readFileSync(join(srv.dataDir, f)).includes(device.seed)).toBe(false);
      }
      const again = await startTestServer({ dataDir: srv.dataDir });
      try {
        expect((await new IAMClient(again.config).send(new ListMFADevicesCommand({ UserName: "persisted" }))).MFADevices!.map((m) => m.SerialNumber)).toEqual([device.serial]);
        const step = await serverStep(again.url);
        const key = base32Decode(device.seed)!;
        await expect(
          new STSClient(again.configFor(creds)).send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: codeAt(key, step + 1) })),
        ).resolves.toBeDefined();
      } finally {
        await again.close();
      }
    } finally {
      await srv.close();
    }
  });
});
