/**
 * The organization the `org` bench rows run in: a member account created by CreateAccount under
 * an OU, SCPs and RCPs enabled, a deny SCP and a deny RCP beside the AWS managed ones at each of
 * the three levels (root → OU → account), and a KMS key of the member account's own. Its calls
 * are what SCP and RCP evaluation costs on every request of a member account.
 */
import * as ORG from "@aws-sdk/client-organizations";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";

type Creds = { accessKeyId: string; secretAccessKey: string };
const config = (endpoint: string, credentials: Creds) => ({ endpoint, region: "us-east-1", credentials });
const doc = (statements: unknown[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

export async function organizationFixture(endpoint: string, management: Creds): Promise<{ member: Creds; keyId: string }> {
  const org = new ORG.OrganizationsClient(config(endpoint, management));
  await org.send(new ORG.CreateOrganizationCommand({}));
  const rootId = (await org.send(new ORG.ListRootsCommand({}))).Roots![0].Id!;
  const ouId = (await org.send(new ORG.CreateOrganizationalUnitCommand({ ParentId: rootId, Name: "bench" }))).OrganizationalUnit!.Id!;
  const req = (await org.send(new ORG.CreateAccountCommand({ AccountName: "bench", Email: "bench@example.com" }))).CreateAccountStatus!.Id!;
  const account = (await org.send(new ORG.DescribeCreateAccountStatusCommand({ CreateAccountRequestId: req }))).CreateAccountStatus!.AccountId!;
  await org.send(new ORG.MoveAccountCommand({ AccountId: account, SourceParentId: rootId, DestinationParentId: ouId }));
  for (const PolicyType of ["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"] as const) {
    await org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType }));
  }
  const scp = doc([{ Effect: "Deny", Action: "s3:DeleteBucket", Resource: "*" }]);
  const rcp = doc([{ Effect: "Deny", Principal: "*", Action: "kms:ScheduleKeyDeletion", Resource: "*" }]);
  for (const target of [rootId, ouId, account]) {
    for (const [Type, Content] of [
      ["SERVICE_CONTROL_POLICY", scp],
      ["RESOURCE_CONTROL_POLICY", rcp],
    ] as const) {
      const id = (await org.send(new ORG.CreatePolicyCommand({ Name: `${Type}-${target}`, Description: "bench", Type, Content }))).Policy!.PolicySummary!.Id!;
      await org.send(new ORG.AttachPolicyCommand({ PolicyId: id, TargetId: target }));
    }
  }
  const member = { accessKeyId: account, secretAccessKey: "test" };
  const keyId = (await new KMSClient(config(endpoint, member)).send(new CreateKeyCommand({ Description: "bench" }))).KeyMetadata!.KeyId!;
  return { member, keyId };
}
