/**
 * A page of one topic framed by SQLite itself, byte for byte as sse/encode.ts frames native events without an
 * envelope (`/stream`'s and the Mercure endpoint's): a replay then makes no object, no string and no frame per
 * event in JavaScript, only one chunk per page. Most of a cold replay's time was spent making those; SQLite
 * builds the same bytes in C from the columns it has read anyway.
 */
import type { Database } from "bun:sqlite";

/** What one framed page holds; `bytes` is null for an empty one. */
export interface FramedRow {
  readonly count: number;
  /** Rows framed: fewer than `count` when a string holds a `\u` escape, which SQLite does not unescape as JavaScript does. */
  readonly framed: number;
  readonly lastId: number | null;
  readonly bytes: Uint8Array | null;
}

const LF = "char(10)";
const CR = "char(13)";

/**
 * A JSON string's text, one `data:` line per line, split on CRLF, CR and LF as `dataLines` splits it; null
 * for a string with a `\u` escape: SQLite turns a lone surrogate into bytes that are not UTF-8, where
 * JavaScript's encoder writes U+FFFD, and a NUL into text its string functions may cut.
 */
const STRING_LINES = `iif(instr(data, '\\u') > 0, NULL,
  'data: ' || replace(replace(replace(json_extract(data, '$'), ${CR} || ${LF}, ${LF}), ${CR}, ${LF}), ${LF}, ${LF} || 'data: '))`;

/** `eventFrame`'s frame of a native event: its id after the prefix (?5), its type if any, its data's lines. */
const FRAME = `'id: ' || ?5 || id || ${LF} || iif(type IS NULL, '', 'event: ' || type || ${LF})
  || iif(substr(data, 1, 1) = '"', ${STRING_LINES}, 'data: ' || data) || ${LF} || ${LF}`;

/**
 * At most `limit` of a topic's events in (after, upTo], framed in id order as one blob, each id after a prefix.
 * The frames come from a subquery in id order and are concatenated in the order they come: `group_concat(…
 * ORDER BY id)` would sort them again, at half the cost of the whole page (test/framed-pages.test.ts checks the
 * order).
 */
export function framedPageQuery(db: Database) {
  return db.query<FramedRow, [string, number, number, number, string]>(
    `SELECT count(*) AS count, count(frame) AS framed, max(id) AS lastId, CAST(group_concat(frame, '') AS BLOB) AS bytes
     FROM (SELECT id, ${FRAME} AS frame FROM events WHERE topic = ?1 AND id > ?2 AND id <= ?3 ORDER BY id LIMIT ?4)`,
  );
}
