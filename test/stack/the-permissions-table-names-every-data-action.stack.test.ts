/**
 * docs/security.md's permissions table is what a reviewer reads before deploying: each row names
 * exactly the DynamoDB, S3 and Identity Store actions its functions' roles are granted, and the
 * directory items they are limited to (`dynamodb:LeadingKeys`), with every optional feature on.
 */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { roleStatements } from "../support/directory-policies.js";
import { synthFullFeatured } from "./full-featured.js";

/** Each row of the table, by the functions it names, to the logical id fragments of those functions. */
const ROWS: Readonly<Record<string, readonly string[]>> = {
  ingest: ["IngestFunction"],
  "apply, departures": ["ApplyFunction", "DeparturesFunction"],
  "full sync": ["FullSyncFunction"],
  scim: ["ScimFunction"],
  "webhook (Entra, Google)": ["EntraChangeNotificationsFunction", "GoogleDirectoryPushFunction"],
  "subscription upkeep": ["SubscriptionUpkeepFunction"],
};

const DATA = /^(dynamodb|s3|identitystore):/;

/** Condition keys the table names beside the actions they narrow. */
const CONDITION_KEYS = new Set(["dynamodb:LeadingKeys"]);

interface Row {
  readonly actions: string[];
  readonly leadingKeys: string[];
}

function documented(): Map<string, Row> {
  const security = fs.readFileSync(new URL("../../docs/security.md", import.meta.url), "utf8");
  const rows = new Map<string, Row>();
  for (const line of security.split("\n")) {
    const [, name, may] = /^\| ([^|]+) \| (.+) \|$/.exec(line) ?? [];
    if (!name || !may || !(name in ROWS)) continue;
    rows.set(name, {
      actions: [...new Set([...may.matchAll(/`([a-z0-9]+:[A-Za-z]+)`/g)].map((m) => m[1] ?? ""))]
        .filter((a) => DATA.test(a) && !CONDITION_KEYS.has(a))
        .sort(),
      leadingKeys: [
        ...new Set([...may.matchAll(/`((?:[a-z]+#[^`\s]*|hold)\*|scim#groups)`/g)].map((m) => m[1] ?? "")),
      ].sort(),
    });
  }
  return rows;
}

describe("the permissions table in docs/security.md", () => {
  it("names exactly the data actions each function's role is granted, and the items they are limited to", () => {
    // Prepare
    const template = synthFullFeatured();
    const granted = (fragment: string) => {
      const statements = roleStatements(template, fragment);
      return {
        actions: [...new Set(statements.flatMap((s) => [s.Action].flat()))]
          .filter((a) => DATA.test(a))
          .sort(),
        leadingKeys: [
          ...new Set(
            statements.flatMap((s) =>
              [s.Condition?.["ForAllValues:StringLike"]?.["dynamodb:LeadingKeys"] ?? []].flat(),
            ),
          ),
        ].sort(),
      };
    };

    // Act
    const rows = documented();

    // Assess
    expect([...rows.keys()].sort()).toEqual(Object.keys(ROWS).sort());
    for (const [name, fragments] of Object.entries(ROWS)) {
      for (const fragment of fragments) {
        expect({ fragment, ...granted(fragment) }).toEqual({ fragment, ...rows.get(name) });
      }
    }
  });
});
