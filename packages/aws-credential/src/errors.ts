import { ConfspaceError, type ConfspaceErrorOptions, InvalidOptionError } from "@confspace/core";

/** The STS operation an {@link AwsStsError} comes from. */
export type AwsStsOperation = "AssumeRoleWithWebIdentity";

/** Options of {@link AwsStsError}. */
export interface AwsStsErrorOptions extends ConfspaceErrorOptions {
  operation: AwsStsOperation;
  roleArn: string;
  awsCode: string;
  status: number | undefined;
  requestId?: string;
  retryable: boolean;
}

/**
 * AWS STS refused or failed a call. `awsCode` is AWS's own error code (`AccessDenied`,
 * `InvalidIdentityToken`, `ExpiredTokenException`, `IDPRejectedClaim`,
 * `IDPCommunicationError`, `ValidationError`, `MalformedPolicyDocument`, `RegionDisabledException`,
 * `Throttling`, …) or, when no reply arrived, the name of the network error; `status` is
 * the HTTP status (`undefined` without a reply). The SDK's error is the `cause`. Code
 * `ERR_AWS_STS`.
 */
export class AwsStsError extends ConfspaceError {
  declare readonly code: "ERR_AWS_STS";
  readonly operation: AwsStsOperation;
  readonly roleArn: string;
  /** AWS's error code, or the network error's name when STS never answered. */
  readonly awsCode: string;
  /** HTTP status of STS's reply; `undefined` when there was none. */
  readonly status: number | undefined;
  /** `x-amzn-RequestId` of the reply, for AWS support. */
  readonly requestId: string | undefined;
  /** Whether trying again later may succeed (throttling, 5xx, network, IdP communication). */
  readonly retryable: boolean;

  constructor(message: string, options: AwsStsErrorOptions) {
    super("ERR_AWS_STS", message, options);
    this.operation = options.operation;
    this.roleArn = options.roleArn;
    this.awsCode = options.awsCode;
    this.status = options.status;
    this.requestId = options.requestId;
    this.retryable = options.retryable;
  }
}

/**
 * An option is missing or out of range; `option` names it and `envVar` the environment
 * variable that could have supplied it. Thrown when the provider is created, never at
 * call time. Code `ERR_INVALID_OPTION`.
 */
export class AwsCredentialOptionError extends InvalidOptionError {}

/**
 * An upstream (STS or the broker) answered 200 with something that is not a complete
 * set of AWS credentials (a missing key, token or expiration, or one already past).
 * Code `ERR_AWS_CREDENTIAL_RESPONSE`. The message names the missing field, never a value.
 */
export class AwsCredentialResponseError extends ConfspaceError {
  declare readonly code: "ERR_AWS_CREDENTIAL_RESPONSE";
  readonly source: "sts" | "broker";

  constructor(source: "sts" | "broker", message: string) {
    super("ERR_AWS_CREDENTIAL_RESPONSE", message);
    this.source = source;
  }
}
