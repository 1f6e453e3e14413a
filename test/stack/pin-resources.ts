/** `npm run pin-resources`: writes the full-featured stack's resources, for a change that adds or removes some on purpose. */
import { writeFileSync } from "node:fs";
import { resourceIdentities, synthFullFeatured } from "./full-featured.js";

const file = new URL("./full-featured-resources.json", import.meta.url);
writeFileSync(file, `${JSON.stringify(resourceIdentities(synthFullFeatured()), null, 2)}\n`);
console.log(`pinned ${file.pathname}`);
