/** Environment variable holding the token broker's URL (`https://broker.example:8443`), read by {@link fromBroker}. */
export const ENV_BROKER_URL = "CONFSPACE_BROKER_URL";

/** Environment variable holding the broker's audience (the `aud` of the attestation tokens it accepts), read by {@link fromBroker}. */
export const ENV_BROKER_AUDIENCE = "CONFSPACE_BROKER_AUDIENCE";
