/** A second account for isolation tests: its root user and an IAM user with AdministratorAccess. */
import { AttachUserPolicyCommand, CreateAccessKeyCommand, CreateUserCommand, IAMClient } from "@aws-sdk/client-iam";
import type { TestServer } from "../support/server.ts";
import type { Creds } from "./iam-helpers.ts";

/** The account whose resources the tests build. */
export const OWNER = "000000000000";
/** The other account (any 12-digit access key id with secret "test" is that account's root). */
export const OTHER = "111111111111";

export interface Caller {
  label: string;
  creds: Creds;
}

/** Account B's root user and an administrator user of B (AdministratorAccess attached). */
export async function otherAccountCallers(server: TestServer, userName = "admin"): Promise<Caller[]> {
  const root: Creds = { accessKeyId: OTHER, secretAccessKey: "test" };
  const iam = new IAMClient(server.configFor(root));
  await iam.send(new CreateUserCommand({ UserName: userName }));
  await iam.send(new AttachUserPolicyCommand({ UserName: userName, PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }));
  const k = (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey!;
  return [
    { label: `root of ${OTHER}`, creds: root },
    { label: `administrator user of ${OTHER}`, creds: { accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey! } },
  ];
}
