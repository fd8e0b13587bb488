/**
 * Organizations' errors: the exception names, HTTP statuses (from the official model) and
 * `Message` members AWS answers with; ConstraintViolationException, InvalidInputException and
 * HandshakeConstraintViolationException carry a `Reason`
 * (https://docs.aws.amazon.com/organizations/latest/APIReference/CommonErrors.html and each
 * operation's Errors section).
 */
import { ServiceError } from "../../kernel/errors.ts";
import { organizationsShapes } from "../../protocol/shapes/organizations.gen.ts";

export function orgError(code: string, message: string, reason?: string): ServiceError {
  const status = organizationsShapes.errors[code]?.status ?? 400;
  return new ServiceError(code, message, status, { capitalMessage: true, ...(reason ? { extra: { Reason: reason } } : {}) });
}

export const notInUse = () => orgError("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.");
export const alreadyInOrganization = () => orgError("AlreadyInOrganizationException", "The AWS account is already a member of an organization.");
export const notManagement = () => orgError("AccessDeniedException", "You don't have permissions to access this resource.");
export const constraint = (reason: string, message: string) => orgError("ConstraintViolationException", message, reason);
export const invalidInput = (reason: string, message: string) => orgError("InvalidInputException", message, reason);
export const parentNotFound = () => orgError("ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.");
export const ouNotFound = () => orgError("OrganizationalUnitNotFoundException", "We can't find an OU with the OrganizationalUnitId that you specified.");
export const accountNotFound = () =>
  orgError(
    "AccountNotFoundException",
    "We can't find an AWS account with the AccountId that you specified, or the account whose credentials you used to make this request isn't a member of an organization.",
  );
export const childNotFound = () => orgError("ChildNotFoundException", "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.");
export const policyNotFound = () => orgError("PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified.");
export const targetNotFound = () => orgError("TargetNotFoundException", "We can't find a root, OU, account, or email that matches the TargetId that you specified.");
export const rootNotFound = () => orgError("RootNotFoundException", "We can't find a root with the RootId that you specified.");
export const handshakeNotFound = () => orgError("HandshakeNotFoundException", "We can't find a handshake with the HandshakeId that you specified.");
export const policyTypeNotEnabled = () =>
  orgError(
    "PolicyTypeNotEnabledException",
    "The specified policy type isn't currently enabled in this root. You can't attach policies of the specified type to entities in a root until you enable that type in the root.",
  );
/**
 * Input that breaks the model's constraints: InvalidInputException with the Reason of the first
 * broken constraint (the InvalidInputExceptionReason values of the API reference).
 */
export function invalidModelInput(message: string): ServiceError {
  const reasons: [RegExp, string][] = [
    [/Member must not be null/, "INPUT_REQUIRED"],
    [/Member must satisfy enum value set/, "INVALID_ENUM"],
    [/Member must satisfy regular expression pattern/, "INVALID_PATTERN"],
    [/Member must have length greater than or equal/, "MIN_LENGTH_EXCEEDED"],
    [/Member must have length less than or equal/, "MAX_LENGTH_EXCEEDED"],
    [/Member must have value greater than or equal/, "MIN_VALUE_EXCEEDED"],
    [/Member must have value less than or equal/, "MAX_VALUE_EXCEEDED"],
  ];
  const first = message.split("; ")[0];
  const reason = reasons.find(([re]) => re.test(first))?.[1] ?? "INVALID_INPUT";
  return invalidInput(reason, message);
}

export const malformedPolicy = (detail: string) =>
  orgError("MalformedPolicyDocumentException", `The provided policy document doesn't meet the requirements of the specified policy type. ${detail}`.trim());
