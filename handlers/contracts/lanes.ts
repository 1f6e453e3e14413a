/**
 * The departures lane: a second reconcile queue and function for changes that take access away
 * (a departure, a demotion from admin), with a reserved share of Tallyfy's budget, so they never
 * wait behind a backlog of joins. The stack and the runtime agree on these.
 */

/**
 * Requests the departures function may make at once after a quiet spell: a departure's reads and
 * its disable go out together instead of a pacing interval apart. The pacer keeps 2% of the
 * budget spare, which covers a burst this small at any budget over 150 requests a minute.
 */
export const DEPARTURES_BURST = 3;

/**
 * The share of Tallyfy's budget the apply functions always leave the departures function, unless
 * configured. While no join waits, the departures function may use the apply functions' share too.
 */
export const DEFAULT_DEPARTURES_BUDGET_SHARE = 0.05;

/**
 * Departures one departures function takes at once: at its reserved share a batch of ten would
 * outlast the function's timeout, and a departure must not wait behind nine others.
 */
export const DEPARTURES_BATCH_SIZE = 2;
