/**
 * `npm run schema`: writes the JSON Schema of the canonical identity event, generated from the
 * zod schema that validates it, so the published format cannot drift from the code.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { identityEventJsonSchema } from "../handlers/core/identity-event.js";

const target = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "schema",
  "identity-event.schema.json",
);
writeFileSync(target, `${JSON.stringify(identityEventJsonSchema(), null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), target)}`);
