/**
 * The departures lane: a second reconcile queue and function for changes that take access away
 * (a departure, a demotion from admin), so they never wait behind a backlog of joins. Both lanes
 * book every Tallyfy request on one shared schedule, so neither overruns the token's budget and
 * neither leaves it idle. The stack and the runtime agree on these.
 */

/** The name of the schedule both reconcile lanes book their Tallyfy requests on. */
export const TALLYFY_SCHEDULE = "tallyfy";

/**
 * How far ahead the apply functions may book on that schedule: they wait outside it beyond, so a
 * departure (whose function books at the end, however far) waits for at most this much of joins,
 * however many apply functions run. Long enough for the joins to keep the budget busy.
 */
export const JOINS_HORIZON_MS = 2_000;

/**
 * Departures one departures function takes at once: a departure must not wait behind many
 * others in its own batch.
 */
export const DEPARTURES_BATCH_SIZE = 2;
