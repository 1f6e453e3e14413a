/**
 * The SCIM resources this endpoint keeps (RFC 7643): what a User and a Group may hold, how a body
 * is read into one, and the attribute names paths and filters are matched against.
 * Unknown attributes in a POST or PUT body are dropped (as RFC 7644 allows); in a PATCH path or
 * filter they are refused, so a mapping mistake in the identity provider is seen at once.
 */
import * as z from "zod";
import { describeIssues } from "../../core/issues.js";
import { findUntrustedJsonProblem, namesInheritedMember } from "../../core/untrusted-json.js";
import { invalidValue } from "./errors.js";

export const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
export const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
export const ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/** Tallyfy's job description has no standard attribute: this extension carries it. */
export const TALLYFY_SCHEMA = "urn:ietf:params:scim:schemas:extension:tallyfy:2.0:User";
export const LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
export const PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
export const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";

/** An attribute as RFC 7643 section 7 describes it; served by `/Schemas` and used to check paths. */
export interface AttributeDefinition {
  readonly name: string;
  readonly type: "string" | "boolean" | "complex" | "reference" | "dateTime";
  readonly multiValued?: boolean;
  readonly mutability?: "readOnly" | "readWrite" | "immutable" | "writeOnly";
  readonly required?: boolean;
  readonly caseExact?: boolean;
  readonly uniqueness?: "none" | "server";
  readonly description?: string;
  readonly subAttributes?: readonly AttributeDefinition[];
}

const str = (name: string, extra: Partial<AttributeDefinition> = {}): AttributeDefinition => ({
  name,
  type: "string",
  ...extra,
});
const multi = (name: string, subs: readonly string[] = ["value", "display", "type", "primary"]) =>
  ({
    name,
    type: "complex",
    multiValued: true,
    subAttributes: subs.map((s) => (s === "primary" ? { name: s, type: "boolean" } : str(s))),
  }) as AttributeDefinition;

/** Read-only, common to both resource types: filters may use it (`meta.lastModified gt "…"`). */
const META: AttributeDefinition = {
  name: "meta",
  type: "complex",
  mutability: "readOnly",
  subAttributes: [
    str("resourceType", { mutability: "readOnly", caseExact: true }),
    { name: "created", type: "dateTime", mutability: "readOnly" },
    { name: "lastModified", type: "dateTime", mutability: "readOnly" },
    { name: "location", type: "reference", mutability: "readOnly" },
    str("version", { mutability: "readOnly", caseExact: true }),
  ],
};

export const USER_ATTRIBUTES: readonly AttributeDefinition[] = [
  str("id", { mutability: "readOnly", caseExact: true, uniqueness: "server" }),
  str("externalId", { caseExact: true }),
  str("userName", { required: true, uniqueness: "server", description: "Compared ignoring case" }),
  {
    name: "name",
    type: "complex",
    subAttributes: [
      "formatted",
      "familyName",
      "givenName",
      "middleName",
      "honorificPrefix",
      "honorificSuffix",
    ].map((s) => str(s)),
  },
  ...[
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
  ].map((s) => str(s)),
  { name: "active", type: "boolean" },
  str("password", { mutability: "writeOnly", description: "Accepted and never kept" }),
  multi("emails"),
  multi("phoneNumbers"),
  multi("ims"),
  multi("photos"),
  multi("addresses", [
    "formatted",
    "streetAddress",
    "locality",
    "region",
    "postalCode",
    "country",
    "type",
    "primary",
  ]),
  multi("groups", ["value", "$ref", "display", "type"]),
  multi("entitlements"),
  multi("roles"),
  multi("x509Certificates"),
  META,
];

export const ENTERPRISE_ATTRIBUTES: readonly AttributeDefinition[] = [
  ...["employeeNumber", "costCenter", "organization", "division", "department"].map((s) => str(s)),
  { name: "manager", type: "complex", subAttributes: [str("value"), str("$ref"), str("displayName")] },
];

export const TALLYFY_ATTRIBUTES: readonly AttributeDefinition[] = [
  str("jobDescription", { description: "Tallyfy's job description" }),
];

export const GROUP_ATTRIBUTES: readonly AttributeDefinition[] = [
  str("id", { mutability: "readOnly", caseExact: true, uniqueness: "server" }),
  str("externalId", { caseExact: true }),
  str("displayName", {
    required: true,
    uniqueness: "server",
    description:
      "Unique when a group is created, compared ignoring case; a rename may take another group's name",
  }),
  {
    name: "members",
    type: "complex",
    multiValued: true,
    subAttributes: [str("value", { caseExact: true }), str("$ref"), str("display"), str("type")],
  },
  META,
];

/** The attributes of a resource type, by schema URN; the core schema's URN is also its prefix. */
export const RESOURCE_SCHEMAS = {
  User: {
    [USER_SCHEMA]: USER_ATTRIBUTES,
    [ENTERPRISE_SCHEMA]: ENTERPRISE_ATTRIBUTES,
    [TALLYFY_SCHEMA]: TALLYFY_ATTRIBUTES,
  },
  Group: { [GROUP_SCHEMA]: GROUP_ATTRIBUTES },
} as const;

export type ResourceType = keyof typeof RESOURCE_SCHEMAS;

// "True" and "False" are what Microsoft Entra ID sends for booleans without its 2020 flag.
const bool = z.union([
  z.boolean(),
  z
    .string()
    .regex(/^(true|false)$/i, "must be true or false")
    .transform((v) => v.toLowerCase() === "true"),
]);
const text = z.string();
const multiValue = z.array(
  z.looseObject({
    value: text.optional(),
    type: text.optional(),
    primary: bool.optional(),
    display: text.optional(),
  }),
);

/** A userName is a key of the table (its claim); DynamoDB's partition keys stop at 2,048 bytes. */
export const MAX_USERNAME_BYTES = 1_024;

export const UserResourceSchema = z.object({
  externalId: text.optional(),
  userName: text
    .trim()
    .min(1, "must not be empty")
    .refine(
      (name) => Buffer.byteLength(name) <= MAX_USERNAME_BYTES,
      `must be at most ${MAX_USERNAME_BYTES} bytes`,
    ),
  name: z
    .object({
      formatted: text.optional(),
      familyName: text.optional(),
      givenName: text.optional(),
      middleName: text.optional(),
      honorificPrefix: text.optional(),
      honorificSuffix: text.optional(),
    })
    .optional(),
  displayName: text.optional(),
  nickName: text.optional(),
  profileUrl: text.optional(),
  title: text.optional(),
  userType: text.optional(),
  preferredLanguage: text.optional(),
  locale: text.optional(),
  timezone: text.optional(),
  /** Absent: true on a create, unchanged on an update. */
  active: bool.optional(),
  emails: multiValue.optional(),
  phoneNumbers: multiValue.optional(),
  ims: multiValue.optional(),
  photos: multiValue.optional(),
  addresses: z.array(z.looseObject({})).optional(),
  entitlements: multiValue.optional(),
  roles: multiValue.optional(),
  x509Certificates: multiValue.optional(),
  [ENTERPRISE_SCHEMA]: z
    .object({
      employeeNumber: text.optional(),
      costCenter: text.optional(),
      organization: text.optional(),
      division: text.optional(),
      department: text.optional(),
      manager: z
        .union([
          z.object({ value: text.optional(), $ref: text.optional(), displayName: text.optional() }),
          // Entra sends the manager's id alone.
          text.transform((value) => ({ value })),
          // Entra's tutorial adds the manager as a one-element array.
          z
            .array(z.object({ value: text.optional(), $ref: text.optional(), displayName: text.optional() }))
            .transform((list) => list[0] ?? {}),
        ])
        .optional(),
    })
    .optional(),
  [TALLYFY_SCHEMA]: z.object({ jobDescription: text.optional() }).optional(),
});
export type UserResource = z.output<typeof UserResourceSchema>;

export const GroupResourceSchema = z.object({
  externalId: text.optional(),
  displayName: text.trim().min(1, "must not be empty"),
  members: z
    .array(
      z.looseObject({
        value: text.min(1, "must name a user"),
        display: text.optional(),
        $ref: text.optional(),
      }),
    )
    .optional(),
});
export type GroupResource = z.output<typeof GroupResourceSchema>;

/** RFC 7643: null means unassigned. Entra never sends it, others do; it is simply dropped. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== null).map(withoutNulls);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, withoutNulls(v)]),
    );
  }
  return value;
}

/** Reads a body (or a patched resource) into a User, keys matched ignoring case. */
export function readUser(body: unknown): UserResource {
  return read(UserResourceSchema, canonicalKeys(withoutNulls(safe(body, "User")), "User"), "User");
}

export function readGroup(body: unknown): GroupResource {
  return read(GroupResourceSchema, canonicalKeys(withoutNulls(safe(body, "Group")), "Group"), "Group");
}

/** A resource nests a few levels; the walks below are recursive, so deeper is refused first. */
const MAX_RESOURCE_DEPTH = 12;

function safe(body: unknown, what: string): unknown {
  const problem = findUntrustedJsonProblem(body, MAX_RESOURCE_DEPTH);
  if (problem) throw invalidValue(`invalid ${what}: ${problem.message}`);
  return body;
}

function read<T extends z.ZodType>(schema: T, body: unknown, what: string): z.output<T> {
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw invalidValue(`a ${what} must be a JSON object`);
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw invalidValue(`invalid ${what}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** Attribute names are case-insensitive (RFC 7643 section 2.1): rewrites a body's keys to their canonical case. */
export function canonicalKeys(value: unknown, type: ResourceType): unknown {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  const schemas = RESOURCE_SCHEMAS[type] as Record<string, readonly AttributeDefinition[]>;
  const core = Object.values(schemas)[0] ?? [];
  // Built from entries, never by assignment: a key `__proto__` then stays a key and sets no prototype.
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => {
      const urn = Object.keys(schemas).find((u) => u.toLowerCase() === key.toLowerCase());
      if (urn) return [urn, rename(v, schemas[urn] ?? [])];
      const attribute = core.find((a) => a.name.toLowerCase() === key.toLowerCase());
      return [attribute?.name ?? key, attribute?.subAttributes ? rename(v, attribute.subAttributes) : v];
    }),
  );
}

function rename(value: unknown, attributes: readonly AttributeDefinition[]): unknown {
  if (Array.isArray(value)) return value.map((v) => rename(v, attributes));
  if (!value || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => {
      const attribute = attributes.find((a) => a.name.toLowerCase() === k.toLowerCase());
      return [attribute?.name ?? k, attribute?.subAttributes ? rename(v, attribute.subAttributes) : v];
    }),
  );
}

/**
 * The attribute a path or filter names, `undefined` when the resource type has none such:
 * `name.givenName`, `emails[type eq "work"].value`, or `urn:…:enterprise:2.0:User:department`.
 * Returns the path with its attribute names in their canonical case.
 */
export function resolvePath(path: string, type: ResourceType): string | undefined {
  // No attribute is named so, and a library handed such a path would walk into a prototype.
  if (namesInheritedMember(path)) return undefined;
  const schemas = RESOURCE_SCHEMAS[type] as Record<string, readonly AttributeDefinition[]>;
  let rest = path.trim();
  let prefix = "";
  let attributes = Object.values(schemas)[0] ?? [];
  const urn = Object.keys(schemas).find((u) => rest.toLowerCase().startsWith(u.toLowerCase()));
  if (urn) {
    rest = rest.slice(urn.length);
    if (rest === "") return urn;
    if (!rest.startsWith(":")) return undefined;
    rest = rest.slice(1);
    // The core schema's attributes are plain names; an extension's keep their URN.
    const core = urn === Object.keys(schemas)[0];
    prefix = core ? "" : `${urn}:`;
    attributes = schemas[urn] ?? [];
  } else if (rest.toLowerCase().startsWith("urn:")) {
    return undefined;
  }
  const match = /^([A-Za-z$][\w$-]*)(\[.*\])?(?:\.([A-Za-z$][\w$-]*))?$/s.exec(rest);
  if (!match) return undefined;
  const [, name = "", filter = "", sub] = match;
  let attribute = attributes.find((a) => a.name.toLowerCase() === name.toLowerCase());
  if (!attribute && !urn) {
    // A bare extension attribute (`manager`, `department`), as Entra's tutorial writes some paths.
    for (const [extension, extra] of Object.entries(schemas).slice(1)) {
      attribute = extra.find((a) => a.name.toLowerCase() === name.toLowerCase());
      if (attribute) {
        prefix = `${extension}:`;
        break;
      }
    }
  }
  if (!attribute) return undefined;
  let resolved = `${prefix}${attribute.name}${filter}`;
  if (sub !== undefined) {
    const subAttribute = attribute.subAttributes?.find((a) => a.name.toLowerCase() === sub.toLowerCase());
    if (!subAttribute) return undefined;
    resolved += `.${subAttribute.name}`;
  }
  return resolved;
}
