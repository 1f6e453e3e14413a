/**
 * A deployed stack knows its resources by logical id: a refactoring of `lib/` that renames one
 * makes CloudFormation replace it (a new table, new queues, lost messages). The resources of a
 * stack with every feature on are pinned in `full-featured-resources.json`; a change that means
 * to add or remove resources regenerates it with `npm run pin-resources` and says why.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { resourceIdentities, synthFullFeatured } from "./full-featured.js";

describe("resource identity", () => {
  it("gives every resource of a full-featured stack the logical id and type it had", () => {
    // Prepare
    const pinned = JSON.parse(
      readFileSync(new URL("./full-featured-resources.json", import.meta.url), "utf8"),
    );

    // Act
    const now = resourceIdentities(synthFullFeatured());

    // Assess
    expect(now).toEqual(pinned);
  });
});
