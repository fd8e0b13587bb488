/**
 * `/_localfargate/images`: the local image store over the control endpoint (docs/ecs-fargate.md,
 * "Images"). GET lists the stored images; POST `{"path": "/abs/file.tar", "names": [...]}` loads a
 * `docker save` or OCI archive. The archive is read from the server's own file system by path,
 * because the CLI runs on the same machine and an unsigned body is limited to 16 KiB
 * (docs/limits.md): only a short JSON body crosses the wire.
 */
import { join } from "node:path";
import type { AppContext } from "../kernel/context.ts";
import { ImageLoadError, ImageStore, type StoredImage } from "../fargate/images/store.ts";

const stores = new WeakMap<AppContext, ImageStore>();

/** The app's image store, opened on first use; undefined for a server without a data dir. */
export function imageStoreOf(app: AppContext): ImageStore | undefined {
  if (!app.dataDir) return undefined;
  let store = stores.get(app);
  if (!store) {
    store = ImageStore.shared(join(app.dataDir, "images"));
    stores.set(app, store);
  }
  return store;
}

export interface ImagesReply {
  status: number;
  body: unknown;
}

const describe = (i: StoredImage) => ({ names: i.names, imageId: i.configDigest, manifestDigest: i.manifestDigest });

function validation(message: string): ImagesReply {
  return { status: 400, body: { __type: "ValidationException", message } };
}

export async function handleImages(app: AppContext, method: string, body: Buffer): Promise<ImagesReply> {
  if (method !== "GET" && method !== "POST") return { status: 405, body: { __type: "MethodNotAllowed", message: "Use GET or POST." } };
  let store: ImageStore | undefined;
  try {
    store = imageStoreOf(app);
  } catch (e) {
    return { status: 503, body: { __type: "ServiceUnavailable", message: `The image store cannot be opened: ${(e as Error).message}` } };
  }
  if (!store) return { status: 409, body: { __type: "ImageStoreUnavailable", message: "This server runs without a data directory, so it keeps no images." } };
  if (method === "GET") return { status: 200, body: { images: store.list().map(describe) } };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return { status: 400, body: { __type: "SerializationException", message: "The request body is not valid JSON." } };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    return validation('The request body must be a JSON object: {"path": "/absolute/archive.tar", "names": ["name:tag"]}.');
  const { path, names = [] } = parsed as { path?: unknown; names?: unknown };
  if (typeof path !== "string" || path === "") return validation("path must be the absolute path of a docker save or OCI archive on the server's machine.");
  if (!Array.isArray(names) || !names.every((n) => typeof n === "string") || names.length > 100) return validation("names must be a list of at most 100 image names.");
  const noRoom = app.store.disk.problem();
  if (noRoom) return { status: 503, body: { __type: "ServiceUnavailable", message: `The image was not loaded: ${noRoom}.` } };
  try {
    const loaded = await store.load(path, names as string[]);
    return { status: 200, body: { images: loaded.map(describe) } };
  } catch (e) {
    if (e instanceof ImageLoadError) return validation(e.message);
    if (app.store.disk.noteFailure(e))
      return { status: 503, body: { __type: "ServiceUnavailable", message: `The image was not loaded: ${app.store.disk.problem() ?? "the data directory is full"}.` } };
    throw e;
  }
}
