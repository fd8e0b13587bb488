/**
 * S3's own key for SSE-S3 (`AES256`) object bodies: `s3-sse.key` in the data dir, separate from
 * the data dir's root key (KMS) and every other key file, made the first time a body is sealed
 * and checked at every start against the check value stored with the data
 * (src/store/key-file.ts). SSE-KMS bodies stay sealed with their customer key's data key.
 * Without a data dir the key lives only in memory.
 */
import { randomBytes } from "node:crypto";
import type { AppContext } from "../../kernel/context.ts";
import { createKeyFile, lazyCheckedKey } from "../../store/key-file.ts";
import { S3Storage } from "./storage.ts";

export const S3_SSE_KEY_FILE = "s3-sse.key";

export function s3SseKey(app: AppContext): () => Buffer {
  const dataDir = app.dataDir;
  if (!dataDir) {
    const key = randomBytes(32);
    return () => key;
  }
  return lazyCheckedKey({
    dataDir,
    fileName: S3_SSE_KEY_FILE,
    store: app.store,
    metaKey: "s3.sseKeyCheck",
    protects: "S3 objects encrypted with SSE-S3",
    hasSealedData: () => S3Storage.hasSealedBodies(app.store),
    create: () => createKeyFile(dataDir, S3_SSE_KEY_FILE),
  });
}
