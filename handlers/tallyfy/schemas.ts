/**
 * Zod schemas for what Tallyfy sends back, and the normalised shapes the rest of the code uses.
 *
 * Tallyfy renamed fields in its 2026 docs (`user_role` -> `role`, `active` -> `is_active`,
 * `last_updated` -> `updated_at`) and shows role values in both cases, so every schema accepts
 * both spellings and normalises; see docs/tallyfy-api.md sections 3 and 5.
 */
import * as z from "zod";
import { ROLES, type Role } from "../core/roles.js";

// The roles are the domain's; the client re-exports them for its callers.
export { ROLES, type Role };

const optionalText = z
  .string()
  .nullish()
  .transform((value) => value ?? undefined);

const lowerText = optionalText.transform((value) => value?.toLowerCase());

const flag = z
  .union([z.boolean(), z.literal(0), z.literal(1)])
  .nullish()
  .transform((value) => (value === null || value === undefined ? undefined : Boolean(value)));

const numericId = z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]);

/** A Tallyfy member ("user") as the rest of the code sees it. */
export interface Member {
  readonly id: number;
  readonly email: string;
  readonly firstName?: string;
  readonly lastName?: string;
  readonly phone?: string;
  readonly jobTitle?: string;
  readonly jobDescription?: string;
  readonly team?: string;
  readonly timezone?: string;
  /** Lower case; normally one of {@link ROLES}. */
  readonly role?: string;
  /** `active`, `invited` or `disabled`, lower case. */
  readonly status?: string;
  readonly isActive?: boolean;
  readonly updatedAt?: string;
  /** The member's groups; only when read with `with=groups`. */
  readonly groups?: readonly { readonly id: string; readonly name: string }[];
}

const MemberGroupsSchema = z.object({
  data: z.array(
    z.object({ id: z.union([z.string().min(1), z.number().int().transform(String)]), name: z.string() }),
  ),
});

export const MemberSchema = z
  .object({
    id: numericId,
    email: z.string(),
    first_name: optionalText,
    last_name: optionalText,
    phone: optionalText,
    job_title: optionalText,
    job_description: optionalText,
    team: optionalText,
    timezone: optionalText,
    role: lowerText,
    user_role: lowerText,
    status: lowerText,
    is_active: flag,
    active: flag,
    updated_at: optionalText,
    last_updated: optionalText,
    groups: MemberGroupsSchema.nullish(),
  })
  .transform(
    (raw): Member => ({
      id: raw.id,
      email: raw.email,
      firstName: raw.first_name,
      lastName: raw.last_name,
      phone: raw.phone,
      jobTitle: raw.job_title,
      jobDescription: raw.job_description,
      team: raw.team,
      timezone: raw.timezone,
      role: raw.role ?? raw.user_role,
      status: raw.status,
      isActive: raw.is_active ?? raw.active,
      updatedAt: raw.updated_at ?? raw.last_updated,
      groups: raw.groups?.data,
    }),
  );

/** A Tallyfy group. `members` are member ids; `guests` are guest emails. */
export interface Group {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly members: readonly number[];
  readonly guests: readonly string[];
  readonly updatedAt?: string;
}

export const GroupSchema = z
  .object({
    id: z.union([z.string().min(1), z.number().int().transform(String)]),
    name: z.string(),
    description: optionalText,
    members: z.array(numericId).nullish(),
    guests: z.array(z.string()).nullish(),
    last_updated: optionalText,
    updated_at: optionalText,
  })
  .transform(
    (raw): Group => ({
      id: raw.id,
      name: raw.name,
      description: raw.description ?? "",
      members: raw.members ?? [],
      guests: raw.guests ?? [],
      updatedAt: raw.last_updated ?? raw.updated_at,
    }),
  );

/** A Tallyfy guest, addressed by email. */
export interface Guest {
  readonly id?: number;
  readonly email: string;
  readonly firstName?: string;
  readonly lastName?: string;
  readonly phone?: string;
  readonly timezone?: string;
  readonly companyName?: string;
  readonly associatedMembers: readonly number[];
  readonly disabled: boolean;
}

export const GuestSchema = z
  .object({
    id: numericId.nullish(),
    email: z.string(),
    first_name: optionalText,
    last_name: optionalText,
    disabled_at: optionalText,
    details: z
      .object({
        status: lowerText,
        phone_1: optionalText,
        timezone: optionalText,
        company_name: optionalText,
        associated_members: z.array(numericId).nullish(),
        disabled_at: optionalText,
      })
      .nullish(),
  })
  .transform(
    (raw): Guest => ({
      id: raw.id ?? undefined,
      email: raw.email,
      firstName: raw.first_name,
      lastName: raw.last_name,
      phone: raw.details?.phone_1,
      timezone: raw.details?.timezone,
      companyName: raw.details?.company_name,
      associatedMembers: raw.details?.associated_members ?? [],
      // The docs put disabled_at under details; the CLI reads it top level. Either means disabled.
      disabled:
        raw.details?.disabled_at !== undefined ||
        raw.disabled_at !== undefined ||
        raw.details?.status === "disabled",
    }),
  );

/**
 * `meta.pagination`. `links` is an object, or `[]` when PHP encoded an empty map, or absent.
 */
export const PaginationSchema = z.object({
  total: z.number().int().nullish(),
  count: z.number().int().nullish(),
  per_page: z.union([z.number().int(), z.string()]).nullish(),
  current_page: z.number().int().nullish(),
  total_pages: z.number().int().nullish(),
  links: z
    .union([z.object({ next: z.string().nullish(), previous: z.string().nullish() }), z.array(z.unknown())])
    .nullish(),
});
export type Pagination = z.infer<typeof PaginationSchema>;

/** `{"data": {...}}` */
export function itemEnvelope<T extends z.ZodType>(schema: T) {
  return z.object({ data: schema });
}

/** `{"data": [...], "meta": {"pagination": {...}}}`; `meta` may be missing. */
export function listEnvelope<T extends z.ZodType>(schema: T) {
  return z.object({
    data: z.array(schema),
    meta: z.object({ pagination: PaginationSchema.nullish() }).nullish(),
  });
}

/** The token endpoint's answer to a client-credentials request. */
/**
 * Any error body Tallyfy is known to send: `{"message"}`, `{"error": true, "message", "code"}`,
 * the nested 409 `{"error": {"code", "message", "details"}}`, and 422's `errors` map whose
 * values may be strings, lists or nested objects.
 */
export const ErrorBodySchema = z.object({
  message: z.unknown().optional(),
  code: z.unknown().optional(),
  error: z.unknown().optional(),
  errors: z.unknown().optional(),
});
