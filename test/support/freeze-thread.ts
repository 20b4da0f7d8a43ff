/**
 * Stops one thread of another process where it stands, as a call that never returns would, and holds it until
 * this process ends (the kernel then lets it go on) or the thread's process is killed. `bun freeze-thread.ts <tid>`
 * prints `frozen`, or why not and exits 1. PTRACE_SEIZE and PTRACE_INTERRUPT stop that thread alone: a SIGSTOP
 * would stop the whole process.
 */
import { dlopen, FFIType, read } from "bun:ffi";
import { readFileSync } from "node:fs";

const PTRACE_SEIZE = 0x4206;
const PTRACE_INTERRUPT = 0x4207;

const libc = dlopen("libc.so.6", {
  ptrace: { args: [FFIType.i64, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i64 },
  __errno_location: { args: [], returns: FFIType.ptr },
});
const tid = Number(process.argv[2]);
for (const request of [PTRACE_SEIZE, PTRACE_INTERRUPT]) {
  if (libc.symbols.ptrace(request, tid, null, null) !== 0n) {
    const errno = read.i32(libc.symbols.__errno_location() as never);
    console.log(`ptrace ${request.toString(16)} of thread ${tid} failed: errno ${errno}`);
    process.exit(1);
  }
}
console.log("frozen");
// A killed thread that is traced stays a zombie, and its process unreaped, until its tracer lets go: this ends then.
setInterval(() => {
  let state = "gone";
  try {
    state = readFileSync(`/proc/${tid}/stat`, "utf8").replace(/^.*\) /s, "")[0] ?? "gone";
  } catch {}
  if (state === "Z" || state === "X" || state === "gone") process.exit(0);
}, 50);
