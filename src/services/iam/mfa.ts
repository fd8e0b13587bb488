/**
 * Virtual MFA devices (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_virtual.html):
 * created unassigned with a random Base32 seed and a QR code of its otpauth:// URI, enabled for
 * a user with two consecutive codes, resynchronized, deactivated and deleted. The seed is sealed
 * at rest like secret access keys. STS verifies session MFA codes through `verifyMfaCode`.
 */
import type {
  CreateVirtualMFADeviceRequest,
  CreateVirtualMFADeviceResponse,
  DeactivateMFADeviceRequest,
  DeleteVirtualMFADeviceRequest,
  EnableMFADeviceRequest,
  ListMFADevicesRequest,
  ListMFADevicesResponse,
  ListVirtualMFADevicesRequest,
  ListMFADeviceTagsRequest,
  ListMFADeviceTagsResponse,
  ListVirtualMFADevicesResponse,
  MFADevice,
  TagMFADeviceRequest,
  UntagMFADeviceRequest,
  ResyncMFADeviceRequest,
  VirtualMFADevice,
} from "@aws-sdk/client-iam";
import { ServiceError } from "../../kernel/errors.ts";
import type { OperationDef, RequestContext } from "../types.ts";
import {
  alreadyExists,
  byName,
  checkTagRequest,
  deleteConflict,
  invalidInput,
  limitExceeded,
  mergeTags,
  noSuchEntity,
  paginate,
  removeTags,
  requestTagContext,
  validationError,
} from "./common.ts";
import { acct, entityRefs, iamOp, implicitUser } from "./ops.ts";
import type { SecretSealer } from "./secrets.ts";
import type { IamState, MfaDeviceRec, UserRec } from "./state.ts";
import { base32Decode, findStep, newSeed, otpauthUri, stepAt } from "./totp.ts";
import { userView } from "./users.ts";

/** IAM users can have up to eight MFA devices (IAM and AWS STS quotas). */
export const MAX_MFA_DEVICES_PER_USER = 8;
/** serialNumberType's maximum length, and what it leaves for a device name under path "/" */
const MAX_SERIAL = 256;
const MAX_DEVICE_NAME = 226;
/** The issuer authenticator apps show for the codes. */
export const MFA_ISSUER = "Amazon Web Services";
/** Steps of clock difference Enable and Resync look across for the two consecutive codes. */
export const SYNC_WINDOW_STEPS = 10;
/** Steps either side of the device's expected step a session code may be from (one code early or late). */
export const VERIFY_WINDOW_STEPS = 1;

export function mfaArn(accountId: string, path: string, name: string): string {
  return `arn:aws:iam::${accountId}:mfa${path}${name}`;
}

const invalidCode = () => new ServiceError("InvalidAuthenticationCode", "Authentication code for device is not valid.", 403);
const noSuchDevice = (serial: string) => noSuchEntity(`MFA Device with serial number ${serial} does not exist.`);

function seedOf(sealer: SecretSealer, d: MfaDeviceRec): Buffer {
  return base32Decode(sealer.open(d.seed, d.serial))!;
}

/**
 * The step at which AuthenticationCode1 and then AuthenticationCode2 (the next step's code) were
 * produced, looked for within SYNC_WINDOW_STEPS of the service clock; later than any step already
 * used, so codes that were accepted once are not accepted again.
 */
function consecutiveStep(seed: Buffer, d: MfaDeviceRec, code1: string, code2: string, nowMs: number): number {
  const now = stepAt(nowMs);
  for (let s = Math.max(now - SYNC_WINDOW_STEPS, d.lastStep + 1); s <= now + SYNC_WINDOW_STEPS; s++) {
    if (findStep(seed, code1, s, s) === s && findStep(seed, code2, s + 1, s + 1) === s + 1) return s;
  }
  throw invalidCode();
}

/**
 * The device's clock offset once AuthenticationCode2 is known to be the code of `step2`: codes
 * typed a step or so before the call are the normal delay of typing them, not drift.
 */
function driftOf(step2: number, nowMs: number): number {
  const offset = step2 - stepAt(nowMs);
  return Math.abs(offset) <= VERIFY_WINDOW_STEPS ? 0 : offset;
}

function mfaDeviceView(d: MfaDeviceRec, u: UserRec): MFADevice {
  return { UserName: u.name, SerialNumber: d.serial, EnableDate: d.enableDate };
}

/**
 * Guessing: a session code is one of three in a million, so a local process with a user's keys
 * could try them all within minutes. After MAX_FAILED_CODES wrong codes in a row a device
 * accepts none for LOCKOUT_MS (service clock). Kept in memory: a restart forgets it.
 */
export const MAX_FAILED_CODES = 5;
export const LOCKOUT_MS = 5 * 60_000;
const failures = new WeakMap<MfaDeviceRec, { count: number; lockedUntilMs: number }>();

function noteFailure(d: MfaDeviceRec, nowMs: number): void {
  const f = failures.get(d) ?? { count: 0, lockedUntilMs: 0 };
  f.count++;
  if (f.count >= MAX_FAILED_CODES) {
    f.count = 0;
    f.lockedUntilMs = nowMs + LOCKOUT_MS;
  }
  failures.set(d, f);
}

export type MfaVerification = { ok: true; device: MfaDeviceRec; step: number } | { ok: false; reason: "unknown-device" | "invalid-code" };

/**
 * Checks a session MFA code (GetSessionToken, AssumeRole) against the caller's own assigned
 * device on the service clock: within VERIFY_WINDOW_STEPS of the device's step and newer than
 * the last code it accepted. Only counts failures (see MAX_FAILED_CODES): `consumeMfaCode`
 * records the step once the call succeeds.
 */
export function verifyMfaCode(state: IamState, sealer: SecretSealer, accountId: string, userId: string | undefined, serial: string, code: string, nowMs: number): MfaVerification {
  const d = state.findMfaDevice(accountId, serial);
  if (!d || !userId || d.userId !== userId) return { ok: false, reason: "unknown-device" };
  if (nowMs < (failures.get(d)?.lockedUntilMs ?? 0)) return { ok: false, reason: "invalid-code" };
  const expected = stepAt(nowMs) + d.drift;
  const step = /^\d{6}$/.test(code) ? findStep(seedOf(sealer, d), code, Math.max(expected - VERIFY_WINDOW_STEPS, d.lastStep + 1), expected + VERIFY_WINDOW_STEPS) : undefined;
  if (step === undefined) {
    noteFailure(d, nowMs);
    return { ok: false, reason: "invalid-code" };
  }
  failures.delete(d);
  return { ok: true, device: d, step };
}

export function consumeMfaCode(ctx: RequestContext, state: IamState, v: { device: MfaDeviceRec; step: number }): void {
  state.noteMfaStep(ctx, v.device, v.step);
}

export function mfaOperations(state: IamState, sealer: SecretSealer): Record<string, OperationDef> {
  const { userArn, userTags } = entityRefs(state);
  const userResource = (ctx: RequestContext, userName: string | undefined) => {
    const who = implicitUser(ctx, state, userName);
    return who.name !== undefined ? userArn(ctx, who.name) : ctx.principal.arn;
  };
  const callerUserName = (ctx: RequestContext, userName: string | undefined) => userName ?? (ctx.principal.type === "IAMUser" ? ctx.principal.userName : undefined);
  const deviceResource = (ctx: RequestContext, serial: string) => state.findMfaDevice(acct(ctx), serial)?.serial ?? serial;
  const existingDevice = (ctx: RequestContext, serial: string): MfaDeviceRec => {
    const d = state.findMfaDevice(acct(ctx), serial);
    if (!d) throw noSuchDevice(serial);
    return d;
  };
  /** The device a request names, assigned to the named (or calling) user. */
  const assignedDevice = (ctx: RequestContext, userName: string | undefined, serial: string): { d: MfaDeviceRec; u: UserRec } => {
    const who = implicitUser(ctx, state, userName);
    if (who.name !== undefined && !who.user) throw noSuchEntity(`The user with name ${who.name} cannot be found.`);
    const d = state.findMfaDevice(acct(ctx), serial);
    if (!d || !who.user || d.userId !== who.user.id) throw noSuchDevice(serial);
    return { d, u: who.user };
  };

  return {
    CreateVirtualMFADevice: iamOp<CreateVirtualMFADeviceRequest, Promise<CreateVirtualMFADeviceResponse>>({
      resource: (ctx, i) => mfaArn(acct(ctx), i.Path ?? "/", i.VirtualMFADeviceName!),
      context: (_ctx, i) => requestTagContext(i.Tags),
      async handler(ctx, i) {
        const account = acct(ctx);
        const path = i.Path ?? "/";
        const name = i.VirtualMFADeviceName!;
        // The serial number (the device ARN) must fit serialNumberType's 256 characters.
        if (name.length > MAX_DEVICE_NAME) {
          throw validationError(`1 validation error detected: Value '${name}' at 'virtualMFADeviceName' failed to satisfy constraint: Member must have length less than or equal to ${MAX_DEVICE_NAME}`);
        }
        if (mfaArn(account, path, name).length > MAX_SERIAL) throw invalidInput(`The serial number of the device would be longer than ${MAX_SERIAL} characters.`);
        checkTagRequest(i.Tags);
        const tags = mergeTags([], i.Tags ?? [], "MFADevice");
        const seed = newSeed();
        // Rendered before any state is looked at or changed: nothing can happen in between.
        // loaded on first use: the library costs start-up time and memory most servers never need
        const { default: QRCode } = await import("qrcode");
        const png = await QRCode.toBuffer(otpauthUri(MFA_ISSUER, name, account, seed), { type: "png", errorCorrectionLevel: "M", margin: 4, scale: 4 });
        const lower = name.toLowerCase();
        if (state.mfaDevicesOf(account).some((d) => d.name.toLowerCase() === lower)) {
          throw alreadyExists("MFADevice entity at the same path and name already exists.");
        }
        const serial = mfaArn(account, path, name);
        const d: MfaDeviceRec = { serial, accountId: account, name, path, createDate: ctx.now, seed: sealer.seal(seed, serial), tags, drift: 0, lastStep: -1 };
        state.saveMfaDevice(ctx, d);
        ctx.audit.resources = [{ ARN: serial, accountId: account, type: "AWS::IAM::MFADevice" }];
        const out: VirtualMFADevice = { SerialNumber: serial, Base32StringSeed: Buffer.from(seed, "ascii"), QRCodePNG: png };
        if (tags.length) out.Tags = tags;
        return { VirtualMFADevice: out };
      },
    }),

    EnableMFADevice: iamOp<EnableMFADeviceRequest, object>({
      resource: (ctx, i) => userArn(ctx, i.UserName!),
      resourceTags: (ctx, i) => userTags(ctx, i.UserName),
      handler(ctx, i) {
        const u = state.user(acct(ctx), i.UserName!);
        const d = existingDevice(ctx, i.SerialNumber!);
        if (d.userId !== undefined) throw alreadyExists("MFA Device is already in use.");
        if (state.mfaDevicesOfUser(u).length >= MAX_MFA_DEVICES_PER_USER) {
          throw limitExceeded(`Cannot exceed quota for MFADevicesPerUser: ${MAX_MFA_DEVICES_PER_USER}`);
        }
        const step = consecutiveStep(seedOf(sealer, d), d, i.AuthenticationCode1!, i.AuthenticationCode2!, ctx.now.getTime());
        d.userId = u.id;
        d.enableDate = ctx.now;
        d.drift = driftOf(step + 1, ctx.now.getTime());
        d.lastStep = step + 1;
        state.saveMfaDevice(ctx, d);
        return {};
      },
    }),

    ResyncMFADevice: iamOp<ResyncMFADeviceRequest, object>({
      resource: (ctx, i) => userArn(ctx, i.UserName!),
      resourceTags: (ctx, i) => userTags(ctx, i.UserName),
      handler(ctx, i) {
        const { d } = assignedDevice(ctx, i.UserName, i.SerialNumber!);
        const step = consecutiveStep(seedOf(sealer, d), d, i.AuthenticationCode1!, i.AuthenticationCode2!, ctx.now.getTime());
        d.drift = driftOf(step + 1, ctx.now.getTime());
        d.lastStep = step + 1;
        state.saveMfaDevice(ctx, d);
        return {};
      },
    }),

    DeactivateMFADevice: iamOp<DeactivateMFADeviceRequest, object>({
      resource: (ctx, i) => userResource(ctx, i.UserName),
      resourceTags: (ctx, i) => userTags(ctx, callerUserName(ctx, i.UserName)),
      handler(ctx, i) {
        const { d } = assignedDevice(ctx, i.UserName, i.SerialNumber!);
        d.userId = undefined;
        d.enableDate = undefined;
        d.drift = 0;
        state.saveMfaDevice(ctx, d);
        return {};
      },
    }),

    DeleteVirtualMFADevice: iamOp<DeleteVirtualMFADeviceRequest, object>({
      resource: (ctx, i) => deviceResource(ctx, i.SerialNumber!),
      resourceTags: (ctx, i) => state.findMfaDevice(acct(ctx), i.SerialNumber!)?.tags,
      handler(ctx, i) {
        const d = existingDevice(ctx, i.SerialNumber!);
        if (d.userId !== undefined) throw deleteConflict("MFA Device is still in use.");
        state.deleteMfaDevice(ctx, d);
        return {};
      },
    }),

    ListMFADevices: iamOp<ListMFADevicesRequest, ListMFADevicesResponse>({
      readOnly: true,
      resource: (ctx, i) => userResource(ctx, i.UserName),
      resourceTags: (ctx, i) => userTags(ctx, callerUserName(ctx, i.UserName)),
      handler(ctx, i) {
        const who = implicitUser(ctx, state, i.UserName);
        if (who.name !== undefined && !who.user) throw noSuchEntity(`The user with name ${who.name} cannot be found.`);
        // The account root enables MFA in the console only: through the API it has no devices.
        const devices = who.user ? state.mfaDevicesOfUser(who.user) : [];
        const page = paginate(devices, (d) => d.name.toLowerCase(), i.Marker, i.MaxItems);
        return { MFADevices: page.items.map((d) => mfaDeviceView(d, who.user!)), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    TagMFADevice: iamOp<TagMFADeviceRequest, object>({
      resource: (ctx, i) => deviceResource(ctx, i.SerialNumber!),
      context: (_ctx, i) => requestTagContext(i.Tags),
      resourceTags: (ctx, i) => state.findMfaDevice(acct(ctx), i.SerialNumber!)?.tags,
      handler(ctx, i) {
        const d = existingDevice(ctx, i.SerialNumber!);
        d.tags = mergeTags(d.tags, i.Tags ?? [], "MFADevice");
        state.saveMfaDevice(ctx, d);
        return {};
      },
    }),

    UntagMFADevice: iamOp<UntagMFADeviceRequest, object>({
      resource: (ctx, i) => deviceResource(ctx, i.SerialNumber!),
      context: (_ctx, i) => ({ "aws:TagKeys": i.TagKeys ?? [] }),
      resourceTags: (ctx, i) => state.findMfaDevice(acct(ctx), i.SerialNumber!)?.tags,
      handler(ctx, i) {
        const d = existingDevice(ctx, i.SerialNumber!);
        d.tags = removeTags(d.tags, i.TagKeys ?? []);
        state.saveMfaDevice(ctx, d);
        return {};
      },
    }),

    ListMFADeviceTags: iamOp<ListMFADeviceTagsRequest, ListMFADeviceTagsResponse>({
      readOnly: true,
      resource: (ctx, i) => deviceResource(ctx, i.SerialNumber!),
      resourceTags: (ctx, i) => state.findMfaDevice(acct(ctx), i.SerialNumber!)?.tags,
      handler(ctx, i) {
        const tags = [...existingDevice(ctx, i.SerialNumber!).tags].sort((a, b) => byName(a.Key!, b.Key!));
        const page = paginate(tags, (t) => t.Key!.toLowerCase(), i.Marker, i.MaxItems);
        return { Tags: page.items, IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    ListVirtualMFADevices: iamOp<ListVirtualMFADevicesRequest, ListVirtualMFADevicesResponse>({
      readOnly: true,
      resource: () => "*",
      handler(ctx, i) {
        const status = i.AssignmentStatus ?? "Any";
        const devices = state
          .mfaDevicesOf(acct(ctx))
          .filter((d) => status === "Any" || (status === "Assigned") === (d.userId !== undefined));
        const page = paginate(devices, (d) => d.name.toLowerCase(), i.Marker, i.MaxItems);
        return {
          VirtualMFADevices: page.items.map((d) => {
            const u = d.userId ? state.usersById.get(d.userId) : undefined;
            const v: VirtualMFADevice = { SerialNumber: d.serial };
            if (u) v.User = userView(u, false);
            if (d.enableDate) v.EnableDate = d.enableDate;
            if (d.tags.length) v.Tags = d.tags;
            return v;
          }),
          IsTruncated: page.IsTruncated,
          Marker: page.Marker,
        };
      },
    }),
  };
}
