/** `npm run pin-release`: keeps the stateful resources of the release being cut, for the next one's upgrade test. */
import { writeFileSync } from "node:fs";
import { synthFullFeatured } from "./full-featured.js";
import { statefulResources } from "./last-release.js";

const file = new URL("./last-release.json", import.meta.url);
writeFileSync(file, `${JSON.stringify(statefulResources(synthFullFeatured()), null, 2)}\n`);
console.log(`pinned ${file.pathname}`);
