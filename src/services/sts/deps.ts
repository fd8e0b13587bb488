/** What the STS operations use: IAM (roles, MFA devices, key use) and the session store. */
import type { IamService } from "../iam/index.ts";
import type { SessionStore } from "./sessions.ts";

export interface StsDeps {
  /** IAM is composed after STS (it looks sessions up), so STS reaches it per request */
  iam(): IamService;
  sessions: SessionStore;
  /** the account an access key id belongs to (IAM keys, sessions, the built-in root keys), if known */
  accountOfKey(accessKeyId: string): string | undefined;
}
