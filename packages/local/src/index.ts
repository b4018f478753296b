export type { LocalS3, LocalS3Bucket, LocalS3Object, LocalS3Options, LocalS3Request } from "./aws/s3.js";
export { startLocalS3 } from "./aws/s3.js";
export type {
  IssuedAwsSession,
  LocalAwsRole,
  LocalAwsSts,
  LocalAwsStsOptions,
  LocalAwsStsRequest,
  LocalAwsUser,
  LocalOidcProvider,
  PolicyDocument,
  PolicyStatement,
} from "./aws/sts.js";
export { startLocalAwsSts } from "./aws/sts.js";
export type {
  LocalIamCredentials,
  LocalIamCredentialsOptions,
  LocalIamCredentialsRequest,
  LocalServiceAccount,
} from "./google/iam-credentials.js";
export { startLocalIamCredentials } from "./google/iam-credentials.js";
export type { LocalKms, LocalKmsKey, LocalKmsOptions, LocalKmsRequest } from "./google/kms.js";
export { startLocalKms } from "./google/kms.js";
export type {
  LocalFederatedPrincipal,
  LocalGooglePrincipal,
  LocalGoogleTokenIssuer,
  LocalIamBinding,
  LocalMemberPrincipal,
  LocalServiceAccountPrincipal,
  LocalStaticAccessToken,
} from "./google/principals.js";
export type {
  IssuedFederatedToken,
  LocalGoogleSts,
  LocalGoogleStsOptions,
  LocalGoogleStsRequest,
  LocalWifProvider,
} from "./google/sts.js";
export { startLocalGoogleSts } from "./google/sts.js";
export type { LocalDelayOptions, LocalFault, LocalRequest, LocalServer } from "./internal/local-server.js";
export type { AzuriteOptions, LocalAzurite, LocalAzuriteRequest } from "./microsoft/azurite.js";
export { startAzurite } from "./microsoft/azurite.js";
export type {
  LocalEntra,
  LocalEntraClient,
  LocalEntraOptions,
  LocalEntraRequest,
} from "./microsoft/entra.js";
export { startLocalEntra } from "./microsoft/entra.js";
export type { VaultFaultProxy, VaultFaultProxyOptions } from "./openbao/fault-proxy.js";
export { startVaultFaultProxy } from "./openbao/fault-proxy.js";
export type {
  OpenBao,
  OpenBaoOptions,
  OpenBaoRequest,
  OpenBaoSealStatus,
  OpenBaoTransitSeal,
} from "./openbao/openbao.js";
export { startOpenBao } from "./openbao/openbao.js";
export { formatEnv } from "./stack/env.js";
export type { LocalService } from "./stack/services.js";
export { LOCAL_SERVICES, parseServices } from "./stack/services.js";
export { startLocalStack } from "./stack/stack.js";
export type { LocalAwsRoleContext, LocalBrokerInfo, LocalStack, LocalStackOptions } from "./stack/stack-types.js";
export type { TestPki, TestPkiOptions } from "./tls.js";
export { createTestPki, trustCaInProcess } from "./tls.js";
