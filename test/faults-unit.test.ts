/** Pure parts of storage faults: which SQLite codes are faults, and the fault state's one line each way. */
import { describe, expect, test } from "bun:test";
import { FaultState } from "../src/log/fault-state";
import { faultError } from "../src/log/faults";
import { sqliteFault } from "../src/log/sqlite/faults";
import { createLogger } from "../src/logger";

const sqliteError = (code: string) => Object.assign(new Error("sqlite says no"), { code });

describe("sqliteFault", () => {
  test("a full disk is storage_full", () => {
    expect(sqliteFault(sqliteError("SQLITE_FULL"))?.reason).toBe("storage_full");
  });
  test.each([
    "SQLITE_IOERR",
    "SQLITE_IOERR_WRITE",
    "SQLITE_IOERR_FSYNC",
    "SQLITE_READONLY",
    "SQLITE_READONLY_DBMOVED",
    "SQLITE_CANTOPEN",
    "SQLITE_CORRUPT",
    "SQLITE_NOTADB",
    "SQLITE_BUSY",
  ])("%s is log_unavailable, naming the code", (code) => {
    const fault = sqliteFault(sqliteError(code));
    expect(fault?.reason).toBe("log_unavailable");
    expect(fault?.message).toContain(code);
  });
  test.each(["SQLITE_CONSTRAINT_UNIQUE", "SQLITE_ERROR", "SQLITE_MISMATCH"])("%s is a bug, not a fault", (code) => {
    expect(sqliteFault(sqliteError(code))).toBeUndefined();
  });
  test("errors without a code, and non-errors, are not faults", () => {
    expect(sqliteFault(new Error("x"))).toBeUndefined();
    expect(sqliteFault(null)).toBeUndefined();
    expect(sqliteFault("SQLITE_FULL")).toBeUndefined();
  });
  test("the answers: 507 and 503, both with Retry-After", () => {
    const full = faultError({ reason: "storage_full", message: "m" });
    const gone = faultError({ reason: "log_unavailable", message: "m" });
    expect([full.status, gone.status]).toEqual([507, 503]);
    expect(full.headers["Retry-After"]).toMatch(/^\d+$/);
    expect(gone.headers["Retry-After"]).toMatch(/^\d+$/);
  });
});

describe("FaultState", () => {
  const setup = () => {
    const lines: Array<{ level: string; msg: string; reason: string }> = [];
    const state = new FaultState(createLogger("debug", (line) => lines.push(JSON.parse(line))));
    return { lines, state };
  };
  const full = { reason: "storage_full", message: "full" } as const;
  const gone = { reason: "log_unavailable", message: "gone" } as const;

  test("one line and one count per fault, however often it is met; one line when it clears", () => {
    const { lines, state } = setup();
    for (let i = 0; i < 5; i++) expect(state.enter(full).code).toBe("storage_full");
    expect(state.current).toEqual(full);
    state.clear();
    state.clear();
    expect(state.current).toBeUndefined();
    expect(lines.map((l) => [l.level, l.msg, l.reason])).toEqual([
      ["error", "log fault started", "storage_full"],
      ["info", "log fault cleared", "storage_full"],
    ]);
    expect(state.started).toEqual({ storage_full: 1, log_unavailable: 0 });
  });

  test("a change of reason is a new fault", () => {
    const { lines, state } = setup();
    state.enter(full);
    state.enter(gone);
    expect(state.current).toEqual(gone);
    expect(lines.map((l) => l.reason)).toEqual(["storage_full", "log_unavailable"]);
    expect(state.started).toEqual({ storage_full: 1, log_unavailable: 1 });
  });
});
