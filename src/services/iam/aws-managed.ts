/**
 * A few AWS managed policies (arn:aws:iam::aws:policy/...) that users of localfargate attach
 * most: full access, power user, IAM, KMS power user and the ECS task execution role policy.
 * Their documents follow AWS's published versions; AWS managed policies cannot be changed.
 */
export interface AwsManagedPolicy {
  name: string;
  path: string;
  id: string;
  description: string;
  versionId: string;
  document: string;
  createDate: Date;
  updateDate: Date;
}

const doc = (statements: unknown[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements }, null, 4);

const DEFS: AwsManagedPolicy[] = [
  {
    name: "AdministratorAccess",
    path: "/",
    id: "ANPAIWMBCKSKIEE64ZLYK",
    description: "Provides full access to AWS services and resources.",
    versionId: "v1",
    document: doc([{ Effect: "Allow", Action: "*", Resource: "*" }]),
    createDate: new Date("2015-02-06T18:39:46Z"),
    updateDate: new Date("2015-02-06T18:39:46Z"),
  },
  {
    name: "PowerUserAccess",
    path: "/",
    id: "ANPAJYRXTHIB4FOVS3ZXS",
    description: "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
    versionId: "v5",
    document: doc([
      { Effect: "Allow", NotAction: ["iam:*", "organizations:*", "account:*"], Resource: "*" },
      {
        Effect: "Allow",
        Action: [
          "account:GetAccountInformation",
          "account:GetPrimaryEmail",
          "account:ListRegions",
          "iam:CreateServiceLinkedRole",
          "iam:DeleteServiceLinkedRole",
          "iam:ListRoles",
          "organizations:DescribeOrganization",
        ],
        Resource: "*",
      },
    ]),
    createDate: new Date("2015-02-06T18:39:47Z"),
    updateDate: new Date("2023-07-06T22:04:00Z"),
  },
  {
    name: "IAMFullAccess",
    path: "/",
    id: "ANPAI7XKCFMBPM3QQRRVQ",
    description: "Provides full access to IAM via the AWS Management Console.",
    versionId: "v2",
    document: doc([
      {
        Effect: "Allow",
        Action: [
          "iam:*",
          "organizations:DescribeAccount",
          "organizations:DescribeOrganization",
          "organizations:DescribeOrganizationalUnit",
          "organizations:DescribePolicy",
          "organizations:ListChildren",
          "organizations:ListParents",
          "organizations:ListPoliciesForTarget",
          "organizations:ListRoots",
          "organizations:ListPolicies",
          "organizations:ListTargetsForPolicy",
        ],
        Resource: "*",
      },
    ]),
    createDate: new Date("2015-02-06T18:40:38Z"),
    updateDate: new Date("2019-06-21T19:40:00Z"),
  },
  {
    name: "IAMReadOnlyAccess",
    path: "/",
    id: "ANPAJKSO7NDY4T57MWDSQ",
    description: "Provides read only access to IAM via the AWS Management Console.",
    versionId: "v4",
    document: doc([
      {
        Effect: "Allow",
        Action: ["iam:GenerateCredentialReport", "iam:GenerateServiceLastAccessedDetails", "iam:Get*", "iam:List*", "iam:SimulateCustomPolicy", "iam:SimulatePrincipalPolicy"],
        Resource: "*",
      },
    ]),
    createDate: new Date("2015-02-06T18:40:39Z"),
    updateDate: new Date("2018-01-25T19:11:27Z"),
  },
  {
    name: "AWSKeyManagementServicePowerUser",
    path: "/",
    id: "ANPAJNPP7PPPPMJRV2SA4",
    description: "Provides access to AWS Key Management Service (AWS KMS).",
    versionId: "v2",
    document: doc([
      {
        Effect: "Allow",
        Action: [
          "kms:CreateAlias",
          "kms:CreateKey",
          "kms:DeleteAlias",
          "kms:Describe*",
          "kms:GenerateRandom",
          "kms:Get*",
          "kms:List*",
          "kms:TagResource",
          "kms:UntagResource",
          "iam:ListGroups",
          "iam:ListRoles",
          "iam:ListUsers",
        ],
        Resource: "*",
      },
    ]),
    createDate: new Date("2015-02-06T18:40:40Z"),
    updateDate: new Date("2017-03-07T00:55:11Z"),
  },
  {
    name: "AmazonECSTaskExecutionRolePolicy",
    path: "/service-role/",
    id: "ANPAJG4BQHXHGMKRVMYNO",
    description: "Provides access to other AWS service resources that are required to run Amazon ECS tasks",
    versionId: "v1",
    document: doc([
      {
        Effect: "Allow",
        Action: ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: "*",
      },
    ]),
    createDate: new Date("2017-11-16T18:48:22Z"),
    updateDate: new Date("2017-11-16T18:48:22Z"),
  },
  {
    // attached to the service-linked role AWSServiceRoleForECS (an abridged document: what ECS does with it)
    name: "AmazonECSServiceRolePolicy",
    path: "/aws-service-role/",
    id: "ANPAIVUWKCAI7URU4WUEI",
    description: "Policy to enable Amazon ECS to manage your cluster.",
    versionId: "v1",
    document: doc([
      {
        Sid: "ECSTaskManagement",
        Effect: "Allow",
        Action: [
          "ec2:AttachNetworkInterface",
          "ec2:CreateNetworkInterface",
          "ec2:CreateNetworkInterfacePermission",
          "ec2:DeleteNetworkInterface",
          "ec2:DeleteNetworkInterfacePermission",
          "ec2:Describe*",
          "ec2:DetachNetworkInterface",
          "elasticloadbalancing:DeregisterTargets",
          "elasticloadbalancing:Describe*",
          "elasticloadbalancing:RegisterTargets",
          "servicediscovery:RegisterInstance",
          "servicediscovery:DeregisterInstance",
        ],
        Resource: "*",
      },
    ]),
    createDate: new Date("2017-10-14T01:18:58Z"),
    updateDate: new Date("2017-10-14T01:18:58Z"),
  },
];

export const awsManagedArn = (p: AwsManagedPolicy) => `arn:aws:iam::aws:policy${p.path}${p.name}`;

export const AWS_MANAGED = new Map<string, AwsManagedPolicy>(DEFS.map((p) => [awsManagedArn(p), p]));
