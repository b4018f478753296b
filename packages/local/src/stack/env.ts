import type { LocalStack } from "./stack-types.js";

/** The environment an app (or another process) needs to use `stack`; names only the app's own settings, never a secret. */
export function stackEnv(stack: Omit<LocalStack, "env">): Record<string, string> {
  const env: Record<string, string> = {
    CONFSPACE_LAUNCHER_SOCKET: stack.emulator.socketPath,
    CONFSPACE_TOKEN_FILE: stack.emulator.tokenFile,
    CONFSPACE_ATTESTATION_ISSUER: stack.emulator.issuer,
    CONFSPACE_LOCAL_CA_FILE: stack.caPath,
    NODE_EXTRA_CA_CERTS: stack.caPath,
  };
  if (stack.broker) {
    env.CONFSPACE_BROKER_URL = stack.broker.url;
    env.CONFSPACE_BROKER_AUDIENCE = stack.broker.audience;
    env.BROKER_CA_FILE = stack.caPath;
  }
  if (stack.azure?.azurite) env.AZURE_STORAGE_ACCOUNT_URL = stack.azure.azurite.accountUrl;
  if (stack.azure) env.CONFSPACE_LOCAL_ENTRA_AUTHORITY_HOST = stack.azure.entra.authorityHost;
  if (stack.aws) {
    env.AWS_REGION = stack.aws.region;
    env.AWS_ENDPOINT_URL_STS = stack.aws.sts.endpoint;
    env.AWS_ENDPOINT_URL_S3 = stack.aws.s3.endpoint;
    env.AWS_ROLE_ARN = stack.aws.webIdentityRoleArn;
    env.CONFSPACE_AWS_AUDIENCE = stack.aws.webIdentityAudience;
    env.CONFSPACE_AWS_BROKER_ROLE_ARN = stack.aws.brokerRoleArn;
    env.CONFSPACE_LOCAL_S3_BUCKET = stack.aws.bucket;
  }
  if (stack.gcp) {
    env.CONFSPACE_GCP_AUDIENCE = stack.gcp.audience;
    env.CONFSPACE_LOCAL_GOOGLE_STS_URL = stack.gcp.sts.tokenUrl;
    env.CONFSPACE_LOCAL_IAM_CREDENTIALS_ENDPOINT = stack.gcp.iamCredentials.endpoint;
    env.CONFSPACE_LOCAL_KMS_ENDPOINT = stack.gcp.kms.endpoint;
    env.CONFSPACE_LOCAL_KMS_KEY = stack.gcp.keyName;
    env.CONFSPACE_LOCAL_GCP_SERVICE_ACCOUNT = stack.gcp.serviceAccount;
  }
  if (stack.vault) {
    env.CONFSPACE_VAULT_ADDR = stack.vault.address;
    env.CONFSPACE_VAULT_ROLE = stack.vault.role;
    env.CONFSPACE_VAULT_AUDIENCE = stack.vault.audience;
  }
  return env;
}

/** `KEY='value'` lines, single-quoted for a POSIX shell (`set -a; . file`) and dotenv loaders. */
export function formatEnv(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([key, value]) => `${key}='${value.replaceAll("'", "'\\''")}'\n`)
    .join("");
}
