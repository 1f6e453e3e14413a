/** Tallyfy's three member roles, and how two of them compare. */

export const ROLES = ["admin", "standard", "light"] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { admin: 3, standard: 2, light: 1 };

/** The higher of two roles (admin > standard > light). */
export function higherRole(a: Role, b: Role): Role {
  return RANK[a] >= RANK[b] ? a : b;
}
