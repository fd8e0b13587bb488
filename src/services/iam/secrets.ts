/**
 * Secret access keys and session tokens are needed in clear to verify signatures, but never
 * stored in clear: they are sealed (AES-256-GCM) under a credentials key kept in the data dir
 * (`credentials.key`, file mode 0600), checked at start against the check value stored with the
 * data (src/store/key-file.ts). With an in-memory store the key lives only in memory.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { defineServiceModule } from "../../kernel/service.ts";
import { loadCheckedKey } from "../../store/key-file.ts";
import type { Store } from "../../store/store.ts";
import { KIND_SESSION } from "../sts/sessions.ts";
import { KIND_KEY } from "./state.ts";

export const CREDENTIALS_KEY_FILE = "credentials.key";

export interface Sealed {
  iv: string;
  ct: string;
  tag: string;
}

export class SecretSealer {
  private readonly key: Buffer;

  constructor(dataDir: string | null, store?: Store) {
    if (!dataDir || !store) {
      this.key = randomBytes(32);
      return;
    }
    this.key = loadCheckedKey({
      dataDir,
      fileName: CREDENTIALS_KEY_FILE,
      store,
      metaKey: "iam.credentialsKeyCheck",
      protects: "IAM secret access keys and STS session credentials",
      hasSealedData: () => store.all(KIND_KEY).length > 0 || store.all(KIND_SESSION).length > 0,
      opensSealedData(key) {
        const sample = store.all<{ id: string; secret: Sealed }>(KIND_KEY)[0] ?? store.all<{ id: string; secret: Sealed }>(KIND_SESSION)[0];
        if (!sample) return true;
        try {
          openSealed(key, sample.secret, sample.id);
          return true;
        } catch {
          return false;
        }
      },
      create() {
        const key = randomBytes(32);
        const file = join(dataDir, CREDENTIALS_KEY_FILE);
        writeFileSync(file, key, { mode: 0o600, flag: "wx" });
        chmodSync(file, 0o600);
        return key;
      },
    });
  }

  seal(plaintext: string, aad: string): Sealed {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.key, iv);
    c.setAAD(Buffer.from(aad));
    const ct = Buffer.concat([c.update(plaintext, "utf8"), c.final()]);
    return { iv: iv.toString("base64"), ct: ct.toString("base64"), tag: c.getAuthTag().toString("base64") };
  }

  open(s: Sealed, aad: string): string {
    return openSealed(this.key, s, aad);
  }
}

function openSealed(key: Buffer, s: Sealed, aad: string): string {
  const d = createDecipheriv("aes-256-gcm", key, Buffer.from(s.iv, "base64"));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(Buffer.from(s.tag, "base64"));
  return Buffer.concat([d.update(Buffer.from(s.ct, "base64")), d.final()]).toString("utf8");
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
