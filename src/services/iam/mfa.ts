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
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import {
  alreadyExists,
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
  tagsPage,
} from "./common.ts";
import {
  authorizeOnAnyResource,
  authorizeOnDevice,
  authorizeOnImplicitUser,
  authorizeOnUser,
  existing,
  iamChecks,
  iamResolvers,
  implicitUserRequired,
  type DeviceRef,
  type EntityRef,
  type IamEnv,
  type ImplicitUser,
} from "./ops.ts";
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
function noteFailure(failures: IamState["mfaFailures"], d: MfaDeviceRec, nowMs: number): void {
  const f = failures.get(d.serial) ?? { count: 0, lockedUntilMs: 0 };
  f.count++;
  if (f.count >= MAX_FAILED_CODES) {
    f.count = 0;
    f.lockedUntilMs = nowMs + LOCKOUT_MS;
  }
  failures.set(d.serial, f);
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
  if (nowMs < (state.mfaFailures.get(d.serial)?.lockedUntilMs ?? 0)) return { ok: false, reason: "invalid-code" };
  const expected = stepAt(nowMs) + d.drift;
  const step = /^\d{6}$/.test(code) ? findStep(seedOf(sealer, d), code, Math.max(expected - VERIFY_WINDOW_STEPS, d.lastStep + 1), expected + VERIFY_WINDOW_STEPS) : undefined;
  if (step === undefined) {
    noteFailure(state.mfaFailures, d, nowMs);
    return { ok: false, reason: "invalid-code" };
  }
  state.mfaFailures.delete(d.serial);
  return { ok: true, device: d, step };
}

export function consumeMfaCode(ctx: RequestContext, state: IamState, v: { device: MfaDeviceRec; step: number }): void {
  state.noteMfaStep(ctx, v.device, v.step);
}

type MfaOperation =
  | "CreateVirtualMFADevice"
  | "EnableMFADevice"
  | "ResyncMFADevice"
  | "DeactivateMFADevice"
  | "DeleteVirtualMFADevice"
  | "ListMFADevices"
  | "TagMFADevice"
  | "UntagMFADevice"
  | "ListMFADeviceTags"
  | "ListVirtualMFADevices";

function existingDevice(ref: DeviceRef): MfaDeviceRec {
  if (!ref.found) throw noSuchDevice(ref.serial);
  return ref.found;
}

/** The device a request names, assigned to `user` (NoSuchEntity for the device otherwise). */
function assignedDevice(state: IamState, accountId: string, user: UserRec | undefined, serial: string): MfaDeviceRec {
  const d = state.findMfaDevice(accountId, serial);
  if (!d || !user || d.userId !== user.id) throw noSuchDevice(serial);
  return d;
}

/** A new device's name, path and serial number (its ARN), known before it exists. */
interface NewDevice {
  account: string;
  name: string;
  path: string;
  serial: string;
}

export function mfaOperations(env: IamEnv): OperationTable<MfaOperation> {
  const { state, sealer } = env;
  const resolve = iamResolvers(env);

  return {
    CreateVirtualMFADevice: defineOperation<CreateVirtualMFADeviceRequest, CreateVirtualMFADeviceResponse, NewDevice>({
      resolve: function resolveNewDevice(ctx, i) {
        const account = resolve.account(ctx);
        const path = i.Path ?? "/";
        return { account, name: i.VirtualMFADeviceName!, path, serial: mfaArn(account, path, i.VirtualMFADeviceName!) };
      },
      authorize: function authorizeCreateVirtualMFADevice(ctx, i, device) {
        return iamChecks(ctx, device.serial, { context: requestTagContext(i.Tags) });
      },
      handler: async function createVirtualMFADevice(ctx, i, { account, name, path, serial }) {
        // The serial number (the device ARN) must fit serialNumberType's 256 characters.
        if (name.length > MAX_DEVICE_NAME) {
          throw validationError(
            `1 validation error detected: Value '${name}' at 'virtualMFADeviceName' failed to satisfy constraint: Member must have length less than or equal to ${MAX_DEVICE_NAME}`,
          );
        }
        if (serial.length > MAX_SERIAL) throw invalidInput(`The serial number of the device would be longer than ${MAX_SERIAL} characters.`);
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
        const d: MfaDeviceRec = { serial, accountId: account, name, path, createDate: ctx.now, seed: sealer.seal(seed, serial), tags, drift: 0, lastStep: -1 };
        state.saveMfaDevice(ctx, d);
        const out: VirtualMFADevice = { SerialNumber: serial, Base32StringSeed: Buffer.from(seed, "ascii"), QRCodePNG: png };
        if (tags.length) out.Tags = tags;
        return { VirtualMFADevice: out };
      },
      audit: {
        resources: (_ctx, _i, { account, serial }) => [{ ARN: serial, accountId: account, type: "AWS::IAM::MFADevice" }],
      },
    }),

    EnableMFADevice: defineOperation<EnableMFADeviceRequest, object, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: authorizeOnUser,
      handler: function enableMFADevice(ctx, i, ref) {
        const u = existing(ref);
        const d = state.findMfaDevice(ref.account, i.SerialNumber!);
        if (!d) throw noSuchDevice(i.SerialNumber!);
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

    ResyncMFADevice: defineOperation<ResyncMFADeviceRequest, object, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: authorizeOnUser,
      handler: function resyncMFADevice(ctx, i, ref) {
        const d = assignedDevice(state, ref.account, existing(ref), i.SerialNumber!);
        const step = consecutiveStep(seedOf(sealer, d), d, i.AuthenticationCode1!, i.AuthenticationCode2!, ctx.now.getTime());
        d.drift = driftOf(step + 1, ctx.now.getTime());
        d.lastStep = step + 1;
        state.saveMfaDevice(ctx, d);
        return {};
      },
    }),

    DeactivateMFADevice: defineOperation<DeactivateMFADeviceRequest, object, ImplicitUser>({
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function deactivateMFADevice(ctx, i, who) {
        const d = assignedDevice(state, who.account, implicitUserRequired(who), i.SerialNumber!);
        d.userId = undefined;
        d.enableDate = undefined;
        d.drift = 0;
        state.saveMfaDevice(ctx, d);
        return {};
      },
    }),

    DeleteVirtualMFADevice: defineOperation<DeleteVirtualMFADeviceRequest, object, DeviceRef>({
      resolve: resolve.device,
      authorize: authorizeOnDevice,
      handler: function deleteVirtualMFADevice(ctx, _i, ref) {
        const d = existingDevice(ref);
        if (d.userId !== undefined) throw deleteConflict("MFA Device is still in use.");
        state.deleteMfaDevice(ctx, d);
        return {};
      },
    }),

    ListMFADevices: defineOperation<ListMFADevicesRequest, ListMFADevicesResponse, ImplicitUser>({
      readOnly: true,
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function listMFADevices(_ctx, i, who) {
        const user = implicitUserRequired(who);
        // The account root enables MFA in the console only: through the API it has no devices.
        const devices = user ? state.mfaDevicesOfUser(user) : [];
        const page = paginate(devices, (d) => d.name.toLowerCase(), i.Marker, i.MaxItems);
        return { MFADevices: page.items.map((d) => mfaDeviceView(d, user!)), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    TagMFADevice: defineOperation<TagMFADeviceRequest, object, DeviceRef>({
      resolve: resolve.device,
      authorize: function authorizeTagMFADevice(ctx, i, ref) {
        return iamChecks(ctx, ref.found?.serial ?? ref.serial, { context: requestTagContext(i.Tags), tags: ref.found?.tags });
      },
      handler: function tagMFADevice(ctx, i, ref) {
        const d = existingDevice(ref);
        d.tags = mergeTags(d.tags, i.Tags ?? [], "MFADevice");
        state.saveMfaDevice(ctx, d);
        return {};
      },
    }),

    UntagMFADevice: defineOperation<UntagMFADeviceRequest, object, DeviceRef>({
      resolve: resolve.device,
      authorize: function authorizeUntagMFADevice(ctx, i, ref) {
        return iamChecks(ctx, ref.found?.serial ?? ref.serial, { context: { "aws:TagKeys": i.TagKeys ?? [] }, tags: ref.found?.tags });
      },
      handler: function untagMFADevice(ctx, i, ref) {
        const d = existingDevice(ref);
        d.tags = removeTags(d.tags, i.TagKeys ?? []);
        state.saveMfaDevice(ctx, d);
        return {};
      },
    }),

    ListMFADeviceTags: defineOperation<ListMFADeviceTagsRequest, ListMFADeviceTagsResponse, DeviceRef>({
      readOnly: true,
      resolve: resolve.device,
      authorize: authorizeOnDevice,
      handler: function listMFADeviceTags(_ctx, i, ref) {
        return tagsPage(existingDevice(ref).tags, i.Marker, i.MaxItems);
      },
    }),

    ListVirtualMFADevices: defineOperation<ListVirtualMFADevicesRequest, ListVirtualMFADevicesResponse, string>({
      readOnly: true,
      resolve: resolve.account,
      authorize: authorizeOnAnyResource,
      handler: function listVirtualMFADevices(_ctx, i, account) {
        const status = i.AssignmentStatus ?? "Any";
        const devices = state.mfaDevicesOf(account).filter((d) => status === "Any" || (status === "Assigned") === (d.userId !== undefined));
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
