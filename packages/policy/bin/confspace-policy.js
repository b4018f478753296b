#!/usr/bin/env node
// `confspace-policy` in this repository's checkout; not published (see scripts/checkout-bin.mjs).
import { runFromSource } from "../../../scripts/checkout-bin.mjs";

await runFromSource(import.meta.url, "confspace-policy");
