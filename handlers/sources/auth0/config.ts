/** The `auth0` key of the sync configuration: how Auth0 users are read (README "Auth0"). */
import * as z from "zod";

// A dotted path into the Auth0 user, e.g. `given_name` or `user_metadata.job_title`.
const path = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, "must be a dotted path such as user_metadata.job_title");

/** Paths into the Auth0 user for one Tallyfy field, tried in order; the first non-empty value wins. */
const attribute = (...paths: string[]) =>
  z
    .union([path, z.array(path)])
    .transform((value) => (typeof value === "string" ? [value] : value))
    .default(paths);

export const Auth0ConfigSchema = z.strictObject({
  /** Paths into the Auth0 user (its root, `user_metadata` or `app_metadata`) for each Tallyfy field. */
  attributes: z
    .strictObject({
      firstName: attribute("given_name"),
      lastName: attribute("family_name"),
      phone: attribute("phone_number", "user_metadata.phone"),
      jobTitle: attribute("user_metadata.job_title"),
      jobDescription: attribute(),
      team: attribute("user_metadata.team"),
      timezone: attribute("user_metadata.timezone"),
    })
    .prefault({}),
  /** Read the user's Auth0 roles, by id (`rol_…`) and by name, as IdP groups for `roles` and `groups`. */
  readRoles: z.boolean().default(true),
  /**
   * A path into the user holding more IdP group names, a list or one name (e.g.
   * `app_metadata.groups`). Only `app_metadata` may say: the user can write `user_metadata`.
   */
  groupsPath: path
    .refine((p) => p.startsWith("app_metadata."), "must be under app_metadata (users can edit user_metadata)")
    .optional(),
  /** Users of these Auth0 connections are Tallyfy guests whatever the email domain. */
  guestConnections: z.array(z.string().trim().min(1)).default([]),
  /** Only users whose email Auth0 has verified are synced (anyone may sign up with any address). */
  requireVerifiedEmail: z.boolean().default(true),
});
export type Auth0Config = z.output<typeof Auth0ConfigSchema>;
