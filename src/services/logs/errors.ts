/**
 * CloudWatch Logs' errors, with the codes and messages AWS answers
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/CommonErrors.html and
 * each operation's Errors section).
 */
import { ServiceError } from "../../kernel/errors.ts";

export function invalidParameter(message: string): ServiceError {
  return new ServiceError("InvalidParameterException", message, 400);
}

export function groupNotFound(): ServiceError {
  return new ServiceError("ResourceNotFoundException", "The specified log group does not exist.", 400);
}

export function streamNotFound(): ServiceError {
  return new ServiceError("ResourceNotFoundException", "The specified log stream does not exist.", 400);
}

export function groupExists(): ServiceError {
  return new ServiceError("ResourceAlreadyExistsException", "The specified log group already exists", 400);
}

export function streamExists(): ServiceError {
  return new ServiceError("ResourceAlreadyExistsException", "The specified log stream already exists", 400);
}

export function invalidToken(): ServiceError {
  return invalidParameter("The specified nextToken is invalid.");
}

/** The key is missing, disabled, pending deletion, or its key policy refuses logs.<region>.amazonaws.com. */
export function keyRefused(groupArn: string): ServiceError {
  return new ServiceError("AccessDeniedException", `The specified KMS key does not exist or is not allowed to be used with Arn '${groupArn}'`, 400);
}
