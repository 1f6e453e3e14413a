/**
 * The full reconciliation infers a departure only for someone the listing missed and no event
 * touched since the run started: the listing may simply have read them before the event. A full
 * group list stores one stamp for the absences it implies, and that stamp is such a touch.
 */
import { describe, expect, it } from "vitest";
import { type Person, versionOf } from "../handlers/core/desired-state.js";
import { touchedSince } from "../handlers/full-sync/full-sync.js";

const runStart = Date.parse("2026-12-07T10:00:00Z");
const at = (iso: string, id: string) => versionOf({ time: iso, id });
const ana: Person = {
  email: "ana@example.com",
  address: "ana@example.com",
  profile: { firstName: { value: "Ana", v: at("2026-12-06T09:00:00Z", "e1") } },
  memberships: { eng: { name: "Eng", value: true, v: at("2026-12-06T09:00:00Z", "e1") } },
};

describe("a person the listing did not see", () => {
  it("counts as touched when a full group list reached them after the run started, even one naming no group", () => {
    // Prepare: a list naming no group, so it left only the stamp.
    const listed: Person = { ...ana, memberships: {}, groupListAt: at("2026-12-07T10:05:00Z", "e2") };

    // Act
    const touched = touchedSince(listed, runStart);

    // Assess
    expect(touched).toBe(true);
  });

  it("does not count as touched when every fact, the stamp included, is older than the run", () => {
    // Prepare
    const quiet: Person = { ...ana, groupListAt: at("2026-12-06T09:00:00Z", "e1") };

    // Act
    const touched = touchedSince(quiet, runStart);

    // Assess
    expect(touched).toBe(false);
  });

  it("counts as touched by a membership change after the run started", () => {
    // Prepare
    const moved: Person = {
      ...ana,
      memberships: { eng: { name: "Eng", value: false, v: at("2026-12-07T10:01:00Z", "e3") } },
    };

    // Act
    const touched = touchedSince(moved, runStart);

    // Assess
    expect(touched).toBe(true);
  });
});
