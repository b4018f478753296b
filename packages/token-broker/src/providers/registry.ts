// The broker's providers and services, in one place: adding one is a file beside its
// siblings and a line here (plus its body and reply in @confspace/ekm-tls protocol.ts and
// its configuration types in config-types.ts).

import { keyService } from "../key-service/service.js";
import { awsProvider } from "./aws.js";
import { azureProvider } from "./azure.js";
import { certificateProvider } from "./certificate.js";
import type { AnyProvider, BrokerService } from "./provider.js";

/** The `/v1/token` providers, in the order "provider must be …" lists them. */
export const PROVIDERS: readonly AnyProvider[] = [azureProvider, awsProvider, certificateProvider];

/** Services with their own listener (started after the token listener, closed before it). */
export const SERVICES: readonly BrokerService[] = [keyService];
