/** Who is calling: the principal a request is authenticated as, and where credentials come from. */

/**
 * FederatedUser: a GetFederationToken session. Anonymous: an unsigned call (STS's
 * AssumeRoleWithWebIdentity and AssumeRoleWithSAML, which need no AWS credentials).
 */
export type PrincipalType = "Root" | "IAMUser" | "AssumedRole" | "AWSService" | "FederatedUser" | "Anonymous";

export interface Principal {
  type: PrincipalType;
  accountId: string;
  /** Root: arn:aws:iam::A:root; user ARN; session ARN arn:aws:sts::A:assumed-role/R/S; AWSService: the service name */
  arn: string;
  /** Root: the account id; IAM user: AIDA…; session: AROA…:session; AWSService: the service name */
  principalId: string;
  userName?: string;
  accessKeyId?: string;
  /** Sessions from STS */
  session?: {
    roleArn?: string;
    roleId?: string;
    roleName?: string;
    sessionName?: string;
    /** GetSessionToken sessions are issued by an IAM user (or root) rather than a role */
    issuerArn: string;
    /** the issuing IAM user's id (AIDA…), for GetFederationToken sessions of an IAM user */
    issuerId?: string;
    /** role sessions from AssumeRoleWithWebIdentity / AssumeRoleWithSAML: the identity provider */
    federatedProvider?: string;
    issuerType: "Role" | "IAMUser" | "Root";
    createdAt: Date;
    expiresAt: Date;
    mfaAuthenticated: boolean;
    /** when the MFA code the session was issued with was verified (aws:MultiFactorAuthAge) */
    mfaAuthenticatedAt?: Date;
    /** inline session policy document and managed policy ARNs passed to AssumeRole */
    policy?: string;
    policyArns?: string[];
  };
  /** AWSService principals: who the call is made by (CloudTrail invokedBy). */
  invokedBy?: string;
  /** AWSService principals acting for a resource: aws:SourceArn and aws:SourceAccount of their calls */
  sourceArn?: string;
  sourceAccount?: string;
}

/** Credentials → principal; implemented by IAM (access keys) and STS (sessions). */
export interface CredentialRecord {
  secretAccessKey: string;
  principal: Principal;
  /** Sessions: the token that must accompany the key */
  sessionToken?: string;
  expiresAt?: Date;
  active: boolean;
}

export interface CredentialProvider {
  lookup(accessKeyId: string): CredentialRecord | undefined;
}
