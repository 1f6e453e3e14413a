/**
 * The baseline: a translator that does what Tallyfy's own code samples do. For every event it
 * resolves the email by listing all members (one `GET /users`, which returns every member by
 * default), then makes the write the event asks for without reading first, one event at a time,
 * with no coalescing and no caching. It waits out a 429's Retry-After like any polite client, and
 * gives up on an event it cannot apply (for example a group change for someone not invited yet).
 */
import type { FakeTallyfy } from "../local/fakes/fake-tallyfy.js";
import type { Workload } from "./workload.js";

interface EventUser {
  email: string;
  firstName?: string;
  lastName?: string;
  jobTitle?: string;
  team?: string;
  phone?: string;
  timezone?: string;
}

interface Event {
  type: string;
  user?: EventUser;
  group?: { name: string };
}

export async function runNaive(workload: Workload, fake: FakeTallyfy): Promise<number> {
  const base = `${fake.url}/organizations/${fake.organizationId}`;
  const call = async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> => {
    for (;;) {
      const response = await fetch(base + path, {
        method,
        headers: {
          Authorization: "Bearer test-token",
          Accept: "application/json",
          "X-Tallyfy-Client": "APIClient",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (response.status === 429) {
        await new Promise((resolve) =>
          setTimeout(resolve, Number(response.headers.get("retry-after") ?? 1) * 1000),
        );
        continue;
      }
      return { status: response.status, json: text ? JSON.parse(text) : undefined };
    }
  };
  const memberDomain = (email: string) => email.endsWith("@example.com");
  let failed = 0;

  for (const raw of workload.events) {
    const event = raw as unknown as Event;
    const email = event.user?.email ?? "";
    const { json } = await call("GET", "/users");
    const members = (
      json as {
        data: { id: number; email: string; first_name: string; last_name: string; timezone: string }[];
      }
    ).data;
    const member = members.find((m) => m.email.toLowerCase() === email.toLowerCase());
    const user: EventUser = event.user ?? { email };
    let ok = true;
    if (event.type === "user.created" && !memberDomain(email)) {
      ok =
        (await call("POST", "/guests", { email, first_name: user.firstName, last_name: user.lastName }))
          .status < 300;
    } else if (event.type === "user.created") {
      const invited = member
        ? { status: 200, json: { data: member } }
        : await call("POST", "/users/invite", {
            email,
            first_name: user.firstName,
            last_name: user.lastName,
            role: "standard",
            message: "Welcome",
          });
      const id = (invited.json as { data?: { id: number } } | undefined)?.data?.id;
      ok =
        id !== undefined &&
        (
          await call("PUT", `/users/${id}`, {
            first_name: user.firstName,
            last_name: user.lastName,
            timezone: user.timezone,
            job_title: user.jobTitle,
            team: user.team,
          })
        ).status < 300;
    } else if (event.type === "user.updated" && member) {
      const body = {
        first_name: member.first_name,
        last_name: member.last_name,
        timezone: member.timezone,
        job_title: user.jobTitle,
        phone: user.phone,
      };
      ok = (await call("PUT", `/users/${member.id}`, body)).status < 300;
    } else if (event.type === "user.deactivated" && member) {
      ok = (await call("DELETE", `/users/${member.id}/disable`)).status < 300;
    } else if (
      (event.type === "group.member_added" || event.type === "group.member_removed") &&
      event.group
    ) {
      const added = event.type === "group.member_added";
      if (event.group.name === "Tallyfy Admins") {
        ok =
          member !== undefined &&
          (await call("PUT", `/users/${member.id}/role`, { role: "admin" })).status < 300;
      } else {
        const found = await call("GET", `/groups?q=${encodeURIComponent(event.group.name)}&per_page=100`);
        const group = (
          found.json as {
            data: { id: string; name: string; description: string; members: number[]; guests: string[] }[];
          }
        ).data.find((g) => g.name === event.group?.name);
        if (!group || (memberDomain(email) && !member)) ok = false;
        else if (memberDomain(email) && member) {
          const others = group.members.filter((id) => id !== member.id);
          ok =
            (
              await call("PUT", `/groups/${group.id}`, {
                name: group.name,
                description: group.description,
                members: added ? [...others, member.id] : others,
              })
            ).status < 300;
        } else {
          const others = group.guests.filter((g) => g !== email);
          ok =
            (
              await call("PUT", `/groups/${group.id}`, {
                name: group.name,
                description: group.description,
                guests: added ? [...others, email] : others,
              })
            ).status < 300;
        }
      }
    } else {
      ok = false;
    }
    if (!ok) failed++;
  }
  return failed;
}
