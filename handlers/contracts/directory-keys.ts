/**
 * The directory table's item kinds, each the prefix of its partition keys. Every function's role
 * may touch only the kinds it uses (`dynamodb:LeadingKeys`, lib/directory-table.ts), so the stack
 * and the runtime must agree on them: both read them here.
 */
export const DIRECTORY_KEYS = {
  /** `person#<email>`: a person's facts with their versions (directory/directory.ts). */
  person: "person#",
  /** `idpgroup#<IdP group>` / `<email>`: everyone ever present in an IdP group. */
  idpGroup: "idpgroup#",
  /** `link#<source>#<source's user id>`: the email the source's user was provisioned under. */
  link: "link#",
  /** `group#<key>`: a Tallyfy group's revision and what was reconciled. */
  group: "group#",
  /** `brake#<source>`: the departure brake's window (directory/holds.ts). */
  brake: "brake#",
  /** `hold` / `<email>`: the held departures. */
  holds: "hold",
  /** `lease#<email>`: which reconcile of a person runs now. */
  lease: "lease#",
  /** `schedule#<budget>`: a rate budget's next free slot (directory/shared-schedule.ts). */
  schedule: "schedule#",
  /** `state#<source>#<name>`: a source's own small state (directory/source-state.ts). */
  sourceState: "state#",
  /** `scim#…`: the SCIM endpoint's Users and Groups (directory/scim-store.ts). */
  scim: "scim#",
  /** `fullsync#run`: the full reconciliation in progress (full-sync/store.ts). */
  fullSync: "fullsync#",
} as const;

export type DirectoryKeyKind = keyof typeof DIRECTORY_KEYS;

/**
 * The SCIM store's partitions. The full sync writes two of them: it carries out a group change
 * the endpoint stored but never queued (scim/index.ts), noting its memberships and settling it.
 */
export const SCIM_PARTITIONS = {
  users: `${DIRECTORY_KEYS.scim}users`,
  groups: `${DIRECTORY_KEYS.scim}groups`,
  /** `scim#memberof#<user id>` / `<group id>`: a user's side of a membership. */
  memberships: `${DIRECTORY_KEYS.scim}memberof#`,
  /** `scim#username#<lower-cased userName>`: the id holding that userName. */
  userNames: `${DIRECTORY_KEYS.scim}username#`,
  emails: `${DIRECTORY_KEYS.scim}email#`,
} as const;

/**
 * The one source state an event's translation keeps (a Graph delta link): its names start with
 * this, so the ingest function may write those and never a subscription's or a channel's.
 */
export const DELTA_STATE_NAME = "delta:";
