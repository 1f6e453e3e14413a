/**
 * The Auth0 tenant the samples describe (`test/fixtures/auth0`), seeded into a {@link FakeAuth0}
 * by the same ids: the users and roles as they are *now*, after every sample happened.
 */
import type { FakeAuth0 } from "./fake-auth0.js";

export const TENANT = {
  alice: "auth0|66b2f1c9e4a7d30012ab34cd",
  /** Signs up in the samples; verified her email. */
  priya: "auth0|67c3a2d0f5b8e41123bc45de",
  /** Deleted in the samples. */
  omar: "auth0|68d4b3e1a6c9f52234cd56ef",
  /** The administrator acting in the `sapi` samples: never a target. */
  dana: "google-oauth2|108234567890123456789",
  adminRole: "rol_9fQx2LkT0aAdmins1",
  engineeringRole: "rol_4hVb7NpR2Engineer",
} as const;

/** The sync configuration an Auth0 customer of the samples would write. */
export const TENANT_CONFIG = {
  memberDomains: ["example.com"],
  roles: { admin: [TENANT.adminRole], standard: [], light: [] },
  defaultRole: "standard",
  groups: { Engineering: "Engineering", Partners: "Partners" },
  deprovision: "disable",
  inviteMessage: "Welcome to Tallyfy",
  auth0: { groupsPath: "app_metadata.groups", guestConnections: ["partners-saml"] },
};

export function seedTenant(auth0: FakeAuth0): void {
  auth0.addRole({ id: TENANT.adminRole, name: "Tallyfy Admin" });
  auth0.addRole({ id: TENANT.engineeringRole, name: "Engineering" });
  auth0.addUser({
    user_id: TENANT.alice,
    email: "alice.nguyen@example.com",
    email_verified: true,
    given_name: "Alicia",
    family_name: "Nguyen-Park",
    name: "Alicia Nguyen-Park",
    identities: [{ connection: "Username-Password-Authentication", provider: "auth0", isSocial: false }],
    user_metadata: {
      job_title: "Operations Manager",
      phone: "+1 312 555 0199",
      timezone: "America/Chicago",
      team: "Customer Success",
    },
    app_metadata: {},
  });
  auth0.assignRole(TENANT.alice, TENANT.engineeringRole);
  auth0.addUser({
    user_id: TENANT.priya,
    email: "priya.shah@example.com",
    email_verified: true,
    given_name: "Priya",
    family_name: "Shah",
    identities: [{ connection: "Username-Password-Authentication", provider: "auth0", isSocial: false }],
    // Masked by the tenant's own tooling: must never reach Tallyfy.
    user_metadata: { job_title: "******", timezone: "Europe/London" },
    app_metadata: { groups: ["Engineering"] },
  });
  auth0.addUser({
    user_id: TENANT.dana,
    email: "dana.whitfield@example.com",
    email_verified: true,
    given_name: "Dana",
    family_name: "Whitfield",
    identities: [{ connection: "google-oauth2", provider: "google-oauth2", isSocial: true }],
  });
  auth0.assignRole(TENANT.dana, TENANT.adminRole);
}
