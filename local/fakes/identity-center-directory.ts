/**
 * The identity store the Identity Center samples describe (`test/fixtures/identity-center`),
 * seeded into a {@link FakeIdentityStore} by the same ids: the state the adapter reads *now*.
 */
import type { FakeIdentityStore } from "./fake-identity-store.js";

export const STORE = {
  id: "d-9067a1b2c3",
  /** Jordan Lee, added to Engineering by the CloudTrail sample. */
  jordan: "94b8e4d8-2011-70f3-8c1e-0f6a1b2c3d4e",
  /** Sam Okafor, a contractor. */
  sam: "a4c8e2f0-3011-70b2-9d1e-1a2b3c4d5e6f",
  engineering: "d1cb25d0-b061-705c-90da-b2b62e4f01f8",
  admins: "e2dc36e1-c172-716d-a1eb-c3c73f5f1209",
  /** Jordan's membership of Engineering, as the sample's responseElements name it. */
  jordanInEngineering: "e4f1a2b3-c061-70aa-1b2c-3d4e5f6a7b8c",
} as const;

/** The sync configuration an Identity Center customer of the samples would write. */
export const STORE_CONFIG = {
  memberDomains: ["example.com"],
  roles: { admin: ["Tallyfy Admins"], standard: [], light: [] },
  defaultRole: "standard",
  groups: { [STORE.engineering]: "Engineering" },
  deprovision: "disable",
  inviteMessage: "Welcome to Tallyfy",
  "identity-center": { identityStoreId: STORE.id, guestUserTypes: ["Contractor"] },
};

export function seedStore(store: FakeIdentityStore): void {
  store.addGroup({
    GroupId: STORE.engineering,
    DisplayName: "Engineering",
    Description: "Everyone who builds",
  });
  store.addGroup({ GroupId: STORE.admins, DisplayName: "Tallyfy Admins" });
  store.addUser({
    UserId: STORE.jordan,
    UserName: "jordan.lee",
    Name: { GivenName: "Jordan", FamilyName: "Lee" },
    Emails: [{ Value: "jordan.lee@example.com", Type: "work", Primary: true }],
    PhoneNumbers: [{ Value: "+1 206 555 0142", Type: "work", Primary: true }],
    Title: "Platform Engineer",
    Timezone: "America/Los_Angeles",
    UserType: "Employee",
    Enterprise: { department: "Platform" },
  });
  store.addUser({
    UserId: STORE.sam,
    UserName: "sam.okafor",
    Name: { GivenName: "Sam", FamilyName: "Okafor" },
    Emails: [{ Value: "sam.okafor@example.com", Primary: true }],
    UserType: "Contractor",
  });
  store.addMembership(STORE.engineering, STORE.jordan, STORE.jordanInEngineering);
}
