/** Where setting values come from: flags over environment variables, and for secrets and keys the files they name. */
import { closeSync, openSync, readSync } from "node:fs";
import { ConfigError } from "../errors";
import { readFailure } from "../files";

/** What the sources need to know of a setting. */
export interface SettingSource {
  readonly env: string;
  readonly flag: string;
  /** Redacted everywhere; may also come from a file (`<ENV>_FILE`, `--<flag>-file`), and must not be empty. */
  readonly secret?: boolean;
  /** Not secret, but long (PEM keys): may come from a file as a secret does, and must not be empty either. */
  readonly file?: boolean;
}

export type Env = Record<string, string | undefined>;

/** A value as the user gave it, and under which name (for messages). */
interface Given {
  readonly raw: string;
  readonly name: string;
}

export const fileVariable = (s: SettingSource): string => `${s.env}_FILE`;
export const fileFlag = (s: SettingSource): string => `${s.flag}-file`;
/** Whether the value may come from the file named by `fileVariable` or `fileFlag`. */
export const readsFile = (s: SettingSource): boolean => s.secret === true || s.file === true;

/** The flags a setting answers to: its own, and for one read from a file the one naming the file. */
export const flagsOf = (s: SettingSource): string[] => (readsFile(s) ? [s.flag, fileFlag(s)] : [s.flag]);
/** The variables a setting reads, likewise. */
export const variablesOf = (s: SettingSource): string[] => (readsFile(s) ? [s.env, fileVariable(s)] : [s.env]);

/** Reads `--name value` and `--name=value` pairs, refusing flags not in `known`. */
export function parseFlags(argv: readonly string[], known: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!arg.startsWith("--")) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)} (see --help)`);
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!known.includes(name)) throw new ConfigError(`unknown flag --${name} (see --help)`);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    flags.set(name, value);
  }
  return flags;
}

/** A setting's value from its flag, else its variable; undefined when neither gives one (the default applies). */
export function given(s: SettingSource, flags: ReadonlyMap<string, string>, env: Env): Given | undefined {
  return (
    pick(s, { name: `--${s.flag}`, value: flags.get(s.flag) }, { name: `--${fileFlag(s)}`, value: flags.get(fileFlag(s)) }) ??
    pick(s, { name: s.env, value: env[s.env] }, { name: fileVariable(s), value: env[fileVariable(s)] })
  );
}

interface Source {
  readonly name: string;
  readonly value: string | undefined;
}

const present = (source: Source): Given | undefined =>
  source.value === undefined ? undefined : { raw: source.value, name: source.name };

function pick(s: SettingSource, direct: Source, file: Source): Given | undefined {
  if (!readsFile(s)) return present(direct);
  if (direct.value !== undefined && file.value !== undefined)
    throw new ConfigError(`${direct.name} and ${file.name} are both set: keep one`);
  const held = s.secret ? "secret" : "value";
  const found = file.value === undefined ? present(direct) : { raw: readValueFile(file.value, file.name, held), name: file.name };
  // An empty secret is a mistake (an unset shell variable, an empty mount), never a request for "no secret".
  if (found?.raw === "") throw new ConfigError(`${found.name} is set but empty; unset it, or give the ${held}`);
  return found;
}

/** The failures of a path that names no file at all: the value itself, given where its file was meant. */
const NO_SUCH_PATH = new Set(["ENOENT", "ENAMETOOLONG", "ENOTDIR"]);

/** More than any key or URL; it also stops a mistaken `/dev/zero` from filling memory. */
const SECRET_FILE_MAX_BYTES = 64 * 1024;

/**
 * The file's text with one trailing newline dropped (editors and `echo` add one). Messages name the setting, never
 * its value: the value is meant to be a path, but a secret given there by mistake must not end up in a log.
 */
function readValueFile(path: string, name: string, held: "secret" | "value"): string {
  let bytes: Buffer;
  try {
    bytes = readAtMost(path, SECRET_FILE_MAX_BYTES + 1);
  } catch (error) {
    const givenInstead = NO_SUCH_PATH.has((error as NodeJS.ErrnoException).code ?? "")
      ? `; it takes the path of a file that holds the ${held}, not the ${held} itself`
      : "";
    throw new ConfigError(`${name}: cannot read the file it names (${readFailure(error)})${givenInstead}`);
  }
  if (bytes.length > SECRET_FILE_MAX_BYTES)
    throw new ConfigError(`${name}: the file it names is larger than ${SECRET_FILE_MAX_BYTES} bytes`);
  try {
    // Fatal: a binary key read with replacement characters would silently sign with other bytes than the file's.
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/\r?\n$/, "");
  } catch {
    const hint = held === "secret" ? " (try: openssl rand -base64 48)" : "";
    throw new ConfigError(`${name}: the file it names is not UTF-8 text${hint}`);
  }
}

function readAtMost(path: string, limit: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(limit);
    let length = 0;
    while (length < limit) {
      const n = readSync(fd, buffer, length, limit - length, null);
      if (n === 0) break;
      length += n;
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/** Variables under `HERALD_` that belong to others on purpose: the test suite's switches, the examples' hub address. */
const OTHERS_VARIABLES = [/^HERALD_TEST_/, /^HERALD_URL$/];

/** `HERALD_*` variables no setting reads: typos, or settings of another version. */
export function unknownVariables(env: Env, settings: readonly SettingSource[]): string[] {
  const known = new Set(settings.flatMap(variablesOf));
  return Object.keys(env)
    .filter((name) => name.startsWith("HERALD_") && !known.has(name) && !OTHERS_VARIABLES.some((re) => re.test(name)))
    .sort();
}

/** The known name closest to a misspelt one, if it is a plausible typo (a few letters off). */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance <= 3 && (best === undefined || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}
