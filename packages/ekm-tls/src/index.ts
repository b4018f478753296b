export type { BoundConnection, BoundRequestOptions, BoundResponse } from "./bound-connection.js";
export { BROKER_EKM_LABEL, BROKER_EKM_LENGTH, brokerEkmOptions, brokerNonce } from "./broker-binding.js";
export type { BrokerCredentialRequest, BrokerTokenType } from "./broker-client.js";
export { BROKER_AUDIENCE_ENV, BROKER_URL_ENV, requestBrokerCredential } from "./broker-client.js";
export type { BrokerErrorCode, BrokerErrorOptions } from "./broker-error.js";
export { BrokerError } from "./broker-error.js";
export type { BoundTlsOptions, ConnectBoundOptions } from "./connect-bound.js";
export { connectBound } from "./connect-bound.js";
export type { BoundConnectionErrorCode, BoundConnectionErrorOptions, EkmErrorCode, EkmErrorOptions } from "./errors.js";
export { BoundConnectionError, EkmArgumentError, EkmError } from "./errors.js";
export type { ExportKeyingMaterialOptions } from "./export-keying-material.js";
export { exportKeyingMaterial } from "./export-keying-material.js";
export type {
  DataKey,
  DataKeyOptions,
  KeyServiceCallOptions,
  KeyServiceClient,
  KeyServiceClientOptions,
  TransitCiphertext,
} from "./key-service-client.js";
export { createKeyServiceClient } from "./key-service-client.js";
export type { KeyServiceErrorCode, KeyServiceErrorOptions } from "./key-service-error.js";
export { KeyServiceError, SealedStateError } from "./key-service-error.js";
export type {
  AwsCredentialsReply,
  AwsTokenRequestBody,
  AzureTokenReply,
  AzureTokenRequestBody,
  BrokerErrorReply,
  BrokerErrorReplyCode,
  BrokerProvider,
  BrokerReplies,
  BrokerReply,
  BrokerRequest,
  BrokerRequestBody,
  CertificateReply,
  CertificateRequestBody,
  UncheckedReply,
} from "./protocol.js";
export { BROKER_ERROR_STATUS, BROKER_REQUEST_FIELDS, BROKER_TOKEN_PATH } from "./protocol.js";
export type { SealedStateOptions } from "./sealed-state.js";
export { openState, SEALED_STATE_FORMAT, sealState } from "./sealed-state.js";
export type { ServerRequestLike } from "./server-ekm.js";
export { requestKeyingMaterial } from "./server-ekm.js";
export type { WorkloadCertificate, WorkloadCertificateRequest, WorkloadKeyType } from "./workload-certificate.js";
export { requestWorkloadCertificate } from "./workload-certificate.js";
export type { WorkloadCertificateCheck } from "./workload-certificate-error.js";
export { WorkloadCertificateError } from "./workload-certificate-error.js";
