/**
 * Secret access keys and session tokens are needed in clear to verify signatures, but never
 * stored in clear: they are sealed (AES-256-GCM) under a credentials key kept in the data dir
 * (file mode 0600). With an in-memory store the key lives only in memory.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { defineServiceModule } from "../../kernel/service.ts";

export interface Sealed {
  iv: string;
  ct: string;
  tag: string;
}

export class SecretSealer {
  private readonly key: Buffer;

  constructor(dataDir: string | null) {
    if (!dataDir) {
      this.key = randomBytes(32);
      return;
    }
    const file = join(dataDir, "credentials.key");
    if (existsSync(file)) {
      const k = readFileSync(file);
      if (k.length !== 32) throw new Error(`${file} is not a 32-byte key`);
      this.key = k;
    } else {
      this.key = randomBytes(32);
      writeFileSync(file, this.key, { mode: 0o600, flag: "wx" });
      chmodSync(file, 0o600);
    }
  }

  seal(plaintext: string, aad: string): Sealed {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.key, iv);
    c.setAAD(Buffer.from(aad));
    const ct = Buffer.concat([c.update(plaintext, "utf8"), c.final()]);
    return { iv: iv.toString("base64"), ct: ct.toString("base64"), tag: c.getAuthTag().toString("base64") };
  }

  open(s: Sealed, aad: string): string {
    const d = createDecipheriv("aes-256-gcm", this.key, Buffer.from(s.iv, "base64"));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(Buffer.from(s.tag, "base64"));
    return Buffer.concat([d.update(Buffer.from(s.ct, "base64")), d.final()]).toString("utf8");
  }
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
  create: (app) => ({ provides: { iamSecrets: new SecretSealer(app.dataDir) } }),
});
