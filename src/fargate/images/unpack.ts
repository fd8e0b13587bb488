/**
 * Unpacks a stored image's root filesystem into a directory with `umoci raw unpack`. An id map
 * shifts the ownership written to disk, so a file owned by root in the image belongs to an
 * unprivileged host user (e.g. 0 → 200000) and a user namespace with the same map sees it as root;
 * no idmapped mounts are needed (docs/ecs-fargate.md, "Images").
 */
import { existsSync } from "node:fs";
import type { ImageStore, StoredImage } from "./store.ts";
import { firstLine, runTool } from "./tools.ts";

export interface IdMap {
  /** first id inside the container */
  readonly containerId: number;
  /** where it lands on the host */
  readonly hostId: number;
  readonly size: number;
}

export interface UnpackOptions {
  readonly uidMap?: IdMap;
  readonly gidMap?: IdMap;
  /** the wall clock in milliseconds (the app's ServiceClock.realNowMs), to measure the unpack */
  readonly realNowMs?: () => number;
}

export class UnpackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnpackError";
  }
}

function mapArg(m: IdMap): string {
  for (const v of [m.containerId, m.hostId, m.size]) {
    if (!Number.isSafeInteger(v) || v < 0 || v > 0xffffffff) throw new UnpackError(`an id map needs whole numbers from 0 to 4294967295, not ${v}`);
  }
  if (m.size === 0) throw new UnpackError("an id map cannot be empty");
  return `${m.containerId}:${m.hostId}:${m.size}`;
}

/**
 * Writes the image's layers into `rootfs` (which must not exist yet; its parent must). Answers
 * how long it took in milliseconds when a clock is given.
 */
export async function unpackImage(store: ImageStore, image: StoredImage, rootfs: string, options: UnpackOptions = {}): Promise<{ ms?: number }> {
  const umoci = store.tools.umoci;
  if (!umoci) throw new UnpackError("unpacking images needs umoci on this machine (scripts/setup.sh installs it)");
  if (existsSync(rootfs)) throw new UnpackError(`${rootfs} already exists`);
  const args = ["raw", "unpack"];
  if (options.uidMap) args.push("--uid-map", mapArg(options.uidMap));
  if (options.gidMap) args.push("--gid-map", mapArg(options.gidMap));
  args.push("--image", store.umociImage(image), rootfs);
  const started = options.realNowMs?.();
  const r = await runTool(umoci, args);
  if (r.code !== 0) throw new UnpackError(`unpacking ${image.configDigest} failed: ${firstLine(r.stderr)}`);
  return started === undefined || !options.realNowMs ? {} : { ms: options.realNowMs() - started };
}
