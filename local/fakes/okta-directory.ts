/**
 * The Okta org the fixtures describe (acme.okta.com), seeded into a {@link FakeOkta}: the users,
 * groups and app the samples in `test/fixtures/okta-*` refer to, by the same ids.
 */
import type { FakeOkta } from "./fake-okta.js";

export const ACME = {
  appId: "0oa1tallyfy0000x1d7",
  alice: "00u1a2b3c4d5e6f7g8h9",
  bob: "00u2b3c4d5e6f7g8h9i0",
  /** Deleted in Okta: the fixtures still name her. */
  carol: "00u3c4d5e6f7g8h9i0j1",
  dev: "00u4d5e6f7g8h9i0j1k2",
  everyone: "00g0everyone00000x1d7",
  admins: "00g1tlyadmins000x1d7",
  engineering: "00g2engineering00x1d7",
} as const;

/** The sync configuration an Okta customer of the fixtures would write. */
export const ACME_CONFIG = {
  memberDomains: ["example.com"],
  roles: { admin: [ACME.admins], standard: [], light: [] },
  defaultRole: "standard",
  groups: { [ACME.engineering]: "Engineering" },
  deprovision: "disable",
  inviteMessage: "Welcome to Tallyfy",
  okta: { appId: ACME.appId, guestUserTypes: ["Contractor"] },
};

/** Seeds the org as it is *now*, after every fixture happened: the state the adapter reads. */
export function seedAcme(okta: FakeOkta): void {
  okta.addGroup("Everyone", {
    id: ACME.everyone,
    type: "BUILT_IN",
    description: "All users in your organization",
  });
  okta.addGroup("Tallyfy Admins", { id: ACME.admins, description: "Administer Tallyfy" });
  okta.addGroup("Engineering", { id: ACME.engineering, description: "Everyone who builds" });
  okta.addUser(
    {
      login: "alice.nguyen@example.com",
      email: "alice.nguyen@example.com",
      firstName: "Alice",
      lastName: "Nguyen",
      title: "Staff Engineer",
      mobilePhone: "+1 312 555 0101",
      department: "Platform",
      timezone: "America/Chicago",
      userType: "Employee",
    },
    { id: ACME.alice },
  );
  okta.addUser(
    {
      login: "bob.martinez@example.com",
      email: "bob.martinez@example.com",
      firstName: "Bob",
      lastName: "Martinez",
      title: "Engineer",
      timezone: "Europe/Madrid",
    },
    { id: ACME.bob, status: "DEPROVISIONED" },
  );
  okta.addUser(
    {
      login: "dev.patel@example.com",
      email: "dev.patel@example.com",
      firstName: "Dev",
      lastName: "Patel",
      title: "Engineer",
      primaryPhone: "N/A",
      timezone: "Asia/Kolkata",
    },
    { id: ACME.dev },
  );
  for (const [user, groups] of [
    [ACME.alice, [ACME.everyone, ACME.admins, ACME.engineering]],
    [ACME.dev, [ACME.everyone, ACME.engineering]],
  ] as const) {
    for (const group of groups) okta.addToGroup(user, group);
    okta.assignApp(ACME.appId, user);
  }
}
