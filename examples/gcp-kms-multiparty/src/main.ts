// The container's entry point in Confidential Space: `node --import tsx src/main.ts [messages.json]`.
// The collaborator list is baked into the image (collaborators.json next to this file), so
// every collaborator's approval of the image digest covers it; the operator cannot add a
// collaborator through metadata. Messages come from a JSON file here; a real deployment
// would read them from Pub/Sub or Cloud Storage with the operator's own credentials.
import { readFile } from "node:fs/promises";
import { countWords, type EncryptedMessage } from "./app.js";
import { parseCollaborators } from "./collaborators.js";

const collaborators = parseCollaborators(
  JSON.parse(await readFile(new URL("../collaborators.json", import.meta.url), "utf8")) as unknown,
);
const messagesPath = process.argv[2] ?? process.env.MESSAGES_FILE ?? "/data/messages.json";
const messages = JSON.parse(await readFile(messagesPath, "utf8")) as EncryptedMessage[];

const result = await countWords(messages, { collaborators, log: (line) => console.log(line) });
console.log(JSON.stringify({ decrypted: result.decrypted, refused: result.refused, counts: result.counts }));
