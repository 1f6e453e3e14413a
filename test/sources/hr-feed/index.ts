/**
 * A source that exists only for the tests: an HR system that posts "employee changed" notices
 * and serves the employee record over HTTP. It is built exactly as a real source would be, from
 * `core/` and `shared/` alone, to prove that adding a source is this folder plus a registry line.
 */
import * as z from "zod";
import { SyncError } from "../../../handlers/core/errors.js";
import type { IdentityEvent } from "../../../handlers/core/identity-event.js";
import { describeIssues } from "../../../handlers/core/issues.js";
import type { IdentitySource } from "../../../handlers/core/source.js";
import { ServiceError } from "../../../handlers/shared/errors.js";
import { jsonOrUndefined, RetryingHttp, sleep } from "../../../handlers/shared/http.js";

export const HrFeedConfigSchema = z.strictObject({
  /** Departments whose people are Tallyfy guests. */
  guestDepartments: z.array(z.string().min(1)).default([]),
});
type HrFeedConfig = z.output<typeof HrFeedConfigSchema>;

const NoticeSchema = z.strictObject({
  hrFeed: z.strictObject({
    noticeId: z.string().min(1),
    employeeId: z.string().min(1),
    at: z.iso.datetime(),
  }),
});

const EmployeeSchema = z.object({
  email: z.email(),
  givenName: z.string(),
  familyName: z.string(),
  department: z.string(),
  employed: z.boolean(),
});

class HrFeedError extends ServiceError {
  public readonly transient: boolean;

  public constructor(operation: string, message: string, transient: boolean) {
    super("HR feed", operation, message);
    this.transient = transient;
  }
}

class HrFeedNotConfiguredError extends SyncError {
  public readonly transient = false;
}

export const hrFeedSource: IdentitySource<
  HrFeedConfig,
  { employee(id: string, deadline: number): Promise<unknown> }
> = {
  id: "hr-feed",
  configSchema: HrFeedConfigSchema,

  recognise: (body) => typeof body === "object" && body !== null && "hrFeed" in body,

  connect({ variables, onResponse }) {
    const baseUrl = variables.HR_FEED_URL;
    if (!baseUrl) throw new HrFeedNotConfiguredError("HR_FEED_URL is not set");
    const http = new RetryingHttp({
      timeoutMs: 2_000,
      retry: { maxRetries: 2, baseDelayMs: 50, maxDelayMs: 200, maxRetryAfterMs: 1_000, jitter: 0 },
      retryAfter: () => undefined,
      refresh: () => {},
      failures: {
        network: (operation, message) => new HrFeedError(operation, message, true),
        deadline: (operation, message) => new HrFeedError(operation, message, true),
        status: (operation, answer) =>
          new HrFeedError(operation, `HTTP ${answer.status}`, answer.status >= 500 || answer.status === 429),
      },
      fetch: globalThis.fetch,
      sleep,
      now: Date.now,
      random: Math.random,
      onResponse: ({ status }) => onResponse(status),
    });
    return {
      async employee(id, deadline) {
        const answer = await http.send({
          operation: "employees.get",
          method: "GET",
          url: `${baseUrl}/employees/${encodeURIComponent(id)}`,
          headers: async () => ({ Accept: "application/json" }),
          deadline,
        });
        return jsonOrUndefined(answer.text);
      },
    };
  },

  async translate(json, { sourceConfig, connection, deadline }) {
    const notice = NoticeSchema.safeParse(json);
    if (!notice.success) throw new HrFeedError("notice", describeIssues(notice.error), false);
    const { noticeId, employeeId, at } = notice.data.hrFeed;
    const about = { kind: "hr-feed.notice", eventId: noticeId };
    const employee = EmployeeSchema.parse(await connection().employee(employeeId, deadline));
    const user = {
      email: employee.email,
      firstName: employee.givenName,
      lastName: employee.familyName,
      team: employee.department,
      guest: sourceConfig.guestDepartments.includes(employee.department) || undefined,
      groups: [employee.department],
    };
    const base = { id: noticeId, time: at, source: "hr-feed" };
    const event: IdentityEvent = employee.employed
      ? { ...base, type: "user.updated", user }
      : { ...base, type: "user.deactivated", user: { email: employee.email } };
    return { status: "events", events: [event], about };
  },
};
