import { createHash, timingSafeEqual, X509Certificate } from "node:crypto";
import { InvalidOptionError } from "@confspace/core";
import { decodeProtectedHeader, errors, importX509, jwtVerify } from "jose";
import { type EntraFailure, entraFailures } from "./entra-errors.js";

/** RFC 7523 client assertion type, the only one Entra accepts. */
export const JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** Clock skew allowed on `exp`/`nbf` of a client assertion (seconds). */
const ASSERTION_CLOCK_TOLERANCE_S = 60;

/** A registered application credential, prepared once at start. */
export interface RegisteredClient {
  clientId: string;
  /** SHA-256 of the secret, compared in constant time. */
  secretDigest?: Buffer;
  certificate?: { pem: string; x509: X509Certificate; x5t: string; x5tS256: string };
}

/** Validates one `clients` entry of the options and precomputes what checks need. */
export function registerClient(client: {
  clientId: string;
  clientSecret?: string;
  certificatePem?: string;
}): RegisteredClient {
  if (!client.clientId)
    throw new InvalidOptionError("clients[].clientId", "startLocalEntra: every client needs a clientId");
  if (!client.clientSecret && !client.certificatePem) {
    throw new InvalidOptionError(
      "clients[].clientSecret",
      `startLocalEntra: client ${client.clientId} needs a clientSecret or a certificatePem`,
    );
  }
  const registered: RegisteredClient = { clientId: client.clientId };
  if (client.clientSecret) registered.secretDigest = digest(client.clientSecret);
  if (client.certificatePem) {
    const x509 = new X509Certificate(client.certificatePem);
    if (x509.publicKey.asymmetricKeyType !== "rsa") {
      // Entra only accepts RSA certificates as application credentials.
      throw new InvalidOptionError(
        "clients[].certificatePem",
        `startLocalEntra: the certificate of client ${client.clientId} must hold an RSA key`,
      );
    }
    registered.certificate = {
      pem: client.certificatePem,
      x509,
      x5t: createHash("sha1").update(x509.raw).digest("base64url"),
      x5tS256: createHash("sha256").update(x509.raw).digest("base64url"),
    };
  }
  return registered;
}

/** Checks `client_secret` in constant time. */
export function checkSecret(client: RegisteredClient, secret: string): EntraFailure | undefined {
  if (!client.secretDigest || !timingSafeEqual(client.secretDigest, digest(secret))) {
    return entraFailures.wrongSecret(client.clientId);
  }
  return undefined;
}

/**
 * Checks a certificate client assertion the way Entra documents it: RS256 or PS256,
 * `x5t`/`x5t#S256` naming the registered certificate, a signature by its key,
 * `aud` = the token endpoint, `iss` = `sub` = client id, `exp` in the future, `jti` set.
 */
export async function checkAssertion(
  client: RegisteredClient,
  assertion: string,
  assertionType: string | null,
  tokenEndpoint: string,
  now: number,
): Promise<EntraFailure | undefined> {
  if (assertionType !== JWT_BEARER_ASSERTION_TYPE) {
    return entraFailures.badAssertion(`The client_assertion_type must be '${JWT_BEARER_ASSERTION_TYPE}'.`);
  }
  const certificate = client.certificate;
  if (!certificate) {
    return entraFailures.badAssertion(`No certificate is registered on application '${client.clientId}'.`);
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    return entraFailures.badAssertion("Client assertion is not a well-formed JWT.");
  }
  const alg = header.alg;
  if (alg !== "RS256" && alg !== "PS256") {
    return entraFailures.badAssertion(`Client assertion uses an unsupported algorithm '${String(alg)}'.`);
  }
  const thumbprintMatches =
    header["x5t#S256"] !== undefined ? header["x5t#S256"] === certificate.x5tS256 : header.x5t === certificate.x5t;
  if (!thumbprintMatches) {
    return entraFailures.badAssertion(
      "The certificate with identifier used to sign the client assertion is not registered on application. " +
        "[Reason - The key was not found.]",
    );
  }
  if (Date.parse(certificate.x509.validTo) <= now) {
    return entraFailures.badAssertion(
      "Client assertion contains an invalid signature. [Reason - The key used is expired.]",
    );
  }
  try {
    const key = await importX509(certificate.pem, alg);
    await jwtVerify(assertion, key, {
      algorithms: [alg],
      audience: tokenEndpoint,
      issuer: client.clientId,
      subject: client.clientId,
      requiredClaims: ["exp", "jti"],
      currentDate: new Date(now),
      clockTolerance: ASSERTION_CLOCK_TOLERANCE_S,
    });
    return undefined;
  } catch (error) {
    return describeJoseFailure(error);
  }
}

function describeJoseFailure(error: unknown): EntraFailure {
  if (error instanceof errors.JWTExpired) return entraFailures.assertionTimeRange();
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return entraFailures.assertionTimeRange();
    return entraFailures.badAssertion(`Client assertion has an invalid '${error.claim}' claim.`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return entraFailures.badAssertion("Client assertion failed signature validation.");
  }
  return entraFailures.badAssertion("Client assertion could not be validated.");
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
