/**
 * Issue 28: each function's role may touch only the directory items it uses. Ingest and the full
 * sync could write anywhere in the table, SCIM's Users and the subscriptions' state included; the
 * apply functions could update any item. Judged as IAM judges them (`dynamodb:LeadingKeys`), on
 * the roles of a stack with every feature on.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { allows, type DirectoryPolicies, type DirectoryPrincipal } from "../../local/fakes/iam-dynamodb.js";
import { directoryPolicies } from "../support/directory-policies.js";
import { synthFullFeatured } from "./full-featured.js";

let policies: DirectoryPolicies;
beforeAll(() => {
  policies = directoryPolicies(synthFullFeatured());
});

const may = (principal: DirectoryPrincipal, action: string, key: string) =>
  allows(policies[principal] ?? [], `dynamodb:${action}`, [key]);

/** Items no function but their owner may write. */
const FOREIGN = {
  scimUser: "scim#users",
  subscription: "state#entra#subscription:users",
  googleChannel: "state#google#channel:users",
  hold: "hold",
  brake: "brake#okta",
  lease: "lease#ana@example.com",
  schedule: "schedule#tallyfy",
  fullSyncRun: "fullsync#run",
};

describe("the directory items each function's role may write", () => {
  it("lets ingest write people, links, the groups' index and revisions and delta links, and nothing else", () => {
    // Act
    const writes = (key: string) => may("ingest", "PutItem", key) || may("ingest", "UpdateItem", key);

    // Assess
    for (const key of [
      "person#ana@example.com",
      "link#okta#00u1",
      "idpgroup#okta:sales",
      "group#name:sales",
    ]) {
      expect(writes(key), key).toBe(true);
    }
    expect(may("ingest", "PutItem", "state#entra#delta:group-1")).toBe(true);
    for (const key of Object.values(FOREIGN)) expect(writes(key), key).toBe(false);
    expect(may("ingest", "DeleteItem", "person#ana@example.com")).toBe(false);
  });

  it("lets the full sync write people, links, the index, revisions and its run, and of SCIM's only a stored group change", () => {
    // Act
    const writes = (key: string) => may("fullSync", "PutItem", key) || may("fullSync", "UpdateItem", key);

    // Assess
    for (const key of [
      "person#ana@example.com",
      "link#okta#00u1",
      "idpgroup#okta:sales",
      "group#name:sales",
    ]) {
      expect(writes(key), key).toBe(true);
    }
    expect(writes(FOREIGN.fullSyncRun)).toBe(true);
    const { fullSyncRun: _own, ...others } = FOREIGN;
    for (const key of Object.values(others)) expect(writes(key), key).toBe(false);
    expect(may("fullSync", "Query", FOREIGN.scimUser)).toBe(true);
    // A group change the SCIM endpoint stored but never queued: carried out, then settled.
    expect(may("fullSync", "PutItem", "scim#memberof#u-1")).toBe(true);
    expect(may("fullSync", "UpdateItem", "scim#groups")).toBe(true);
    expect(may("fullSync", "PutItem", "scim#groups")).toBe(false);
    expect(may("fullSync", "DeleteItem", "scim#username#ana")).toBe(false);
  });

  it("lets the apply functions update what a reconcile keeps, never put an item, never touch SCIM's, a source's or a link, and scan only to count", () => {
    for (const principal of ["apply", "departures"] as const) {
      // Act
      const updates = (key: string) => may(principal, "UpdateItem", key);

      // Assess
      for (const key of [
        "person#ana@example.com",
        "group#name:sales",
        "hold",
        "brake#okta",
        "lease#a",
        "schedule#tallyfy",
      ]) {
        expect(updates(key), `${principal} ${key}`).toBe(true);
      }
      for (const key of [FOREIGN.scimUser, FOREIGN.subscription, FOREIGN.fullSyncRun]) {
        expect(updates(key) || may(principal, "GetItem", key), `${principal} ${key}`).toBe(false);
      }
      expect(may(principal, "PutItem", "person#ana@example.com")).toBe(false);
      // Links are what a source's deletion is resolved through: a reconcile never needs one.
      expect(updates("link#okta#00u1") || may(principal, "GetItem", "link#okta#00u1")).toBe(false);
      // The brake's Scan counts; one that returns items (SCIM users' names, sources' state) is refused.
      expect(allows(policies[principal] ?? [], "dynamodb:Scan", [], { select: "COUNT" })).toBe(true);
      expect(allows(policies[principal] ?? [], "dynamodb:Scan", [], {})).toBe(false);
      expect(allows(policies[principal] ?? [], "dynamodb:Scan", [], { select: "ALL_ATTRIBUTES" })).toBe(
        false,
      );
    }
  });

  it("keeps the SCIM function and the subscription upkeep to their own items", () => {
    // Assess
    expect(may("scim", "PutItem", FOREIGN.scimUser)).toBe(true);
    expect(may("scim", "UpdateItem", "person#ana@example.com")).toBe(false);
    expect(may("upkeep", "PutItem", FOREIGN.subscription)).toBe(true);
    expect(may("upkeep", "PutItem", "person#ana@example.com")).toBe(false);
  });
});
