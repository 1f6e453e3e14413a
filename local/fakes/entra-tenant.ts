/** The Entra tenant the Graph samples describe (test/fixtures/msgraph), seeded into a fake Graph. */
import type { FakeGraph } from "./fake-graph.js";

export const ENTRA = {
  alice: "1f7a0d2c-6b3e-4c8d-9a5f-2e1b0c9d8e7f",
  bob: "2b8e1f3d-7c4a-4d9e-8b6f-3f2c1d0e9f8a",
  guest: "3c9f2a4e-8d5b-4eaf-9c7a-4a3d2e1f0a9b",
  engineering: "a1b2c3d4-0000-4000-8000-000000000001",
  admins: "a1b2c3d4-0000-4000-8000-000000000002",
  outside: "a1b2c3d4-0000-4000-8000-000000000003",
  /** The shared sample's clientState, which the tests give Graph as ours. */
  clientState: "tallyfy-acme-REDACTED",
} as const;

export function seedEntraTenant(graph: FakeGraph): void {
  graph.addUser({
    id: ENTRA.alice,
    givenName: "Alice",
    surname: "Nguyen",
    mail: "alice.nguyen@example.com",
    userPrincipalName: "alice.nguyen@example.com",
    jobTitle: "Operations Manager",
    department: "Customer Success",
    businessPhones: ["+1 312 555 0199"],
    mobilePhone: "+1 312 555 0100",
    userType: "Member",
    accountEnabled: true,
  });
  graph.addUser({
    id: ENTRA.bob,
    givenName: "Bob",
    surname: "Okafor",
    mail: "bob.okafor@example.com",
    userPrincipalName: "bob.okafor@example.com",
    jobTitle: "Engineer",
    businessPhones: [],
    mobilePhone: "+44 20 7946 0958",
    userType: "Member",
    accountEnabled: true,
  });
  graph.addUser({
    id: ENTRA.guest,
    givenName: "Gina",
    surname: "Ruiz",
    mail: "gina@partner.example.org",
    userPrincipalName: "gina_partner.example.org#EXT#@acme.onmicrosoft.com",
    userType: "Guest",
    businessPhones: [],
    accountEnabled: true,
  });
  graph.addGroup({ id: ENTRA.engineering, displayName: "Engineering", members: [ENTRA.alice] });
  graph.addGroup({ id: ENTRA.admins, displayName: "Tallyfy Admins", members: [] });
  graph.addGroup({ id: ENTRA.outside, displayName: "Facilities", members: [ENTRA.bob] });
}
