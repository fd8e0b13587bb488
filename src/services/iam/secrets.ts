/**
 * Secret access keys, session tokens and MFA seeds are needed in clear to verify signatures and
 * codes, but never stored in clear: they are sealed (src/store/sealing.ts, AES-256-GCM bound to
 * the record's id) under a credentials key kept in the data dir (`credentials.key`, mode 0600),
 * checked at start against the check value stored with the data (src/store/key-file.ts). The
 * private keys of server certificates (kept, never returned) and the passwords of service-specific
 * credentials are sealed the same way. With an
 * in-memory store the key lives only in memory.
 */
import { randomBytes } from "node:crypto";
import { defineServiceModule } from "../../kernel/service.ts";
import { createKeyFile, lazyCheckedKey } from "../../store/key-file.ts";
import { openParts, sealParts } from "../../store/sealing.ts";
import type { Store } from "../../store/store.ts";
import { KIND_SESSION } from "../sts/sessions.ts";
import { KIND_SERVER_CERT, KIND_SERVICE_CREDENTIAL } from "./credential-records.ts";
import { KIND_KEY } from "./state.ts";

export const CREDENTIALS_KEY_FILE = "credentials.key";

export interface Sealed {
  iv: string;
  ct: string;
  tag: string;
}

export class SecretSealer {
  private readonly key: () => Buffer;

  constructor(dataDir: string | null, store?: Store) {
    if (!dataDir || !store) {
      const memoryKey = randomBytes(32);
      this.key = () => memoryKey;
      return;
    }
    this.key = lazyCheckedKey({
      dataDir,
      fileName: CREDENTIALS_KEY_FILE,
      store,
      metaKey: "iam.credentialsKeyCheck",
      protects: "IAM secret access keys and STS session credentials",
      hasSealedData: () =>
        store.all(KIND_KEY).length > 0 || store.all(KIND_SESSION).length > 0 || store.all(KIND_SERVER_CERT).length > 0 || store.all(KIND_SERVICE_CREDENTIAL).length > 0,
      opensSealedData(key) {
        const sample =
          store.all<{ id: string; secret: Sealed }>(KIND_KEY)[0] ??
          store.all<{ id: string; secret: Sealed }>(KIND_SESSION)[0] ??
          store.all<{ id: string; privateKey: Sealed }>(KIND_SERVER_CERT).map((c) => ({ id: c.id, secret: c.privateKey }))[0] ??
          store.all<{ id: string; secret: Sealed }>(KIND_SERVICE_CREDENTIAL)[0];
        if (!sample) return true;
        try {
          openSealed(key, sample.secret, sample.id);
          return true;
        } catch {
          return false;
        }
      },
      create: () => createKeyFile(dataDir, CREDENTIALS_KEY_FILE),
    });
  }

  seal(plaintext: string, aad: string): Sealed {
    const { iv, ct, tag } = sealParts(this.key(), Buffer.from(plaintext, "utf8"), aad);
    return { iv: iv.toString("base64"), ct: ct.toString("base64"), tag: tag.toString("base64") };
  }

  open(s: Sealed, aad: string): string {
    return openSealed(this.key(), s, aad);
  }
}

function openSealed(key: Buffer, s: Sealed, aad: string): string {
  return openParts(key, { iv: Buffer.from(s.iv, "base64"), ct: Buffer.from(s.ct, "base64"), tag: Buffer.from(s.tag, "base64") }, aad).toString("utf8");
}

declare module "../../kernel/context.ts" {
  interface Provided {
    /** seals IAM and STS secrets at rest (access keys, MFA seeds, session secrets) */
    iamSecrets: SecretSealer;
  }
}

/** One sealer per app, shared by IAM and STS. */
export const secretsModule = defineServiceModule({
  name: "iam-secrets",
  needs: [],
  create: (app) => ({ provides: { iamSecrets: new SecretSealer(app.dataDir, app.store) } }),
});
