/** The Google Workspace account the push samples describe (test/fixtures/google-directory-push), seeded into a fake Directory API. */
import type { FakeGoogleDirectory } from "./fake-google-directory.js";

export const GOOGLE = {
  alice: "115203841234567890123",
  bob: "115203841234567890456",
  carol: "115203841234567890789",
  /** The shared sample's channel token, which the tests give Google as ours. */
  token: "tenant=acme;secret=REDACTED",
} as const;

export function seedGoogleDirectory(google: FakeGoogleDirectory): void {
  google.addUser({
    id: GOOGLE.alice,
    primaryEmail: "alice.nguyen@example.com",
    name: { givenName: "Alicia", familyName: "Nguyen-Park" },
    phones: [{ value: "+1 312 555 0199", type: "work", primary: true }],
    organizations: [{ primary: true, title: "Operations Manager", department: "Customer Success" }],
    customSchemas: { Tallyfy: { timezone: "America/Chicago" } },
    suspended: false,
    archived: false,
    isAdmin: false,
  });
  google.addUser({
    id: GOOGLE.bob,
    primaryEmail: "bob.okafor@example.com",
    name: { givenName: "Bob", familyName: "Okafor" },
    organizations: [{ primary: true, title: "Engineer", department: "Engineering" }],
    suspended: false,
    isAdmin: false,
  });
  google.addUser({
    id: GOOGLE.carol,
    primaryEmail: "carol.diaz@example.com",
    name: { givenName: "Carol", familyName: "Diaz" },
    suspended: false,
    isAdmin: true,
  });
  google.addGroup({
    id: "03x8tuzt1bq0pzb",
    email: "engineering@example.com",
    name: "Engineering",
    members: [GOOGLE.alice],
  });
  google.addGroup({
    id: "03x8tuzt1bq0aaa",
    email: "facilities@example.com",
    name: "Facilities",
    members: [GOOGLE.bob],
  });
}
