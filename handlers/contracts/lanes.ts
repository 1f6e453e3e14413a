/**
 * The departures lane: a second reconcile queue and function for changes that take access away
 * (a departure, a demotion from admin), so they never wait behind a backlog of joins. Both lanes
 * book every Tallyfy request on one shared schedule, so neither overruns the token's budget and
 * neither leaves it idle. The stack and the runtime agree on these.
 */

/** The name of the schedule both reconcile lanes book their Tallyfy requests on. */
export const TALLYFY_SCHEDULE = "tallyfy";

/**
 * Departures one departures function takes at once: a departure must not wait behind many
 * others in its own batch.
 */
export const DEPARTURES_BATCH_SIZE = 2;
