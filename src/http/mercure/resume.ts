/**
 * Where a Mercure subscription resumes (drafts 07 and 08, "Reconciliation"): after the event a given id names,
 * or from the oldest retained event when it names none, and what the `Mercure-Last-Event-ID` and
 * `Last-Event-ID` response headers then say.
 */

import { HERALD_ID_PREFIX } from "../../event-json";
import type { EventLog } from "../../log/event-log";
import type { ClientEventId, Selector } from "../../names";

/** The reserved id that asks for every retained update, and that the headers give when no event precedes the replay. */
export const EARLIEST = "earliest";

export interface Resume {
  /** The replay covers the matching events after this one (0: every retained event). */
  readonly after: ClientEventId;
  /** The id of the event before the first one sent: the given id, or `earliest`. */
  readonly told: string;
}

const FROM_THE_OLDEST: Resume = { after: { value: 0, text: "0" }, told: EARLIEST };
const HERALD_ID = /^[1-9][0-9]{0,15}$/;

/** The event `given` names: `urn:herald:<n>` is event n, any other id the earliest event its publisher gave it. */
async function eventOf(log: EventLog, given: string): Promise<number | undefined> {
  if (!given.startsWith(HERALD_ID_PREFIX)) return log.findPublisherId(given);
  const digits = given.slice(HERALD_ID_PREFIX.length);
  const id = HERALD_ID.test(digits) ? Number(digits) : Number.NaN;
  return Number.isSafeInteger(id) ? id : undefined;
}

/**
 * Resumes after the event `given` names. An id that names none (unknown, from the future, never an event),
 * `earliest`, one whose matching event retention deleted, or one after which it deleted matching events, replays
 * from the oldest retained event and says `earliest`: nothing is skipped without the header saying so.
 */
export async function resumeFrom(log: EventLog, selectors: readonly Selector[], given: string): Promise<Resume> {
  if (given === EARLIEST) return FROM_THE_OLDEST;
  const id = await eventOf(log, given);
  if (id === undefined) return FROM_THE_OLDEST;
  // A node of a cluster may trail the shared log by a moment: an id it has not read yet is not one from the future.
  await log.caughtUp(id);
  // Pruned through `id` itself: the event it names is gone, as a publisher's id of a pruned event is unknown.
  if (id > log.lastId() || (await log.prunedThrough(selectors)) >= id) return FROM_THE_OLDEST;
  return { after: { value: id, text: String(id) }, told: given };
}
