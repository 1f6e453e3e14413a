/** The `entra` key of the sync configuration: how Microsoft Entra ID users are read (README "Microsoft Entra ID"). */
import * as z from "zod";

// A dotted path into the Graph user; a number picks an element: `businessPhones.0`.
const path = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/, "must be a dotted path such as businessPhones.0");

/** Paths into the Graph user for one Tallyfy field, tried in order; the first non-empty value wins. */
const attribute = (...paths: string[]) =>
  z
    .union([path, z.array(path)])
    .transform((value) => (typeof value === "string" ? [value] : value))
    .default(paths);

export const EntraConfigSchema = z.strictObject({
  /**
   * The one Entra tenant synced (its id, a GUID): notifications from any other tenant are
   * refused. Required when the source is deployed.
   */
  tenantId: z
    .string()
    .trim()
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "must be a tenant id (a GUID)")
    .optional(),
  /**
   * The Entra groups in scope, by object id or display name: only their members are synced, and
   * a member who leaves all of them leaves Tallyfy. Empty: every user of the tenant.
   */
  groups: z.array(z.string().trim().min(1)).default([]),
  /** Read group memberships transitively (`transitiveMemberOf`): a member of a nested group counts. */
  transitiveGroups: z.boolean().default(false),
  /** Paths into the Graph user for each Tallyfy field. `mailboxSettings.*` is read only when the app may. */
  attributes: z
    .strictObject({
      firstName: attribute("givenName"),
      lastName: attribute("surname"),
      phone: attribute("businessPhones.0", "mobilePhone"),
      jobTitle: attribute("jobTitle"),
      jobDescription: attribute(),
      team: attribute("department"),
      timezone: attribute("mailboxSettings.timeZone"),
    })
    .prefault({}),
  /** Graph `userType` values that make a user a Tallyfy guest whatever the email domain. */
  guestUserTypes: z.array(z.string().trim().min(1)).default(["Guest"]),
});
export type EntraConfig = z.output<typeof EntraConfigSchema>;
