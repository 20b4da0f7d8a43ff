/** Small file systems for the storage-fault tests: mounted by the test itself, filled or broken, always unmounted. */
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, openSync, rmdirSync, writeSync } from "node:fs";
import { basename, join } from "node:path";
import { tempDir } from "./herald";

export interface Mount {
  readonly dir: string;
  unmount(): void;
}

function run(...cmd: string[]): { ok: boolean; output: string } {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return { ok: r.exitCode === 0, output: `${r.stdout.toString()}${r.stderr.toString()}`.trim() };
}

/** Runs a command the test cannot do without; a failure is the test's failure, with the command's words. */
export function must(...cmd: string[]): void {
  const r = run(...cmd);
  if (!r.ok) throw new Error(`${cmd.join(" ")}: ${r.output}`);
}

/** Unmounts (lazily, should a process still hold it) and removes the mount point. */
function detach(dir: string): void {
  run("umount", "-l", dir);
  rmdirSync(dir);
}

/** Mounts a tmpfs of `size` (e.g. "4m") on a new temp dir, or returns undefined, saying why, where mounting is refused. */
export function mountTmpfs(size: string): Mount | undefined {
  const dir = tempDir();
  const r = run("mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir);
  if (!r.ok) {
    rmdirSync(dir);
    console.log(`skipped: cannot mount a tmpfs here (${r.output})`);
    return undefined;
  }
  return { dir, unmount: () => detach(dir) };
}

/** An ext4 file system in an image file, mounted through a loop device with `errors=remount-ro`. */
export interface Ext4Mount extends Mount {
  /** Makes the kernel force the file system read-only, as it does after a disk error. */
  breakReadOnly(): void;
  /** Unmounts, repairs with e2fsck and mounts again: what an operator does after such an error. */
  repair(): void;
  /**
   * A power cut, as xfstests' godown stages one: the file system stops at once (EXT4_IOC_SHUTDOWN with
   * NOLOGFLUSH), its dirty pages and unwritten journal dropped; only what was flushed is there after `repair()`.
   */
  cutPower(): void;
}

/** _IOR('X', 125, __u32) and its flag that writes nothing more: linux/fs.h (FS_IOC_SHUTDOWN). */
const FS_IOC_SHUTDOWN = 0x8004587dn;
const SHUTDOWN_NOLOGFLUSH = 2;

export function mountExt4(sizeMb: number): Ext4Mount | undefined {
  const home = tempDir();
  const image = join(home, "fs.img");
  const dir = join(home, "mnt");
  must("mkdir", dir);
  must("truncate", "-s", `${sizeMb}M`, image);
  const steps = [
    ["mkfs.ext4", "-q", "-F", image],
    ["mount", "-o", "loop,errors=remount-ro", image, dir],
  ];
  for (const step of steps) {
    const r = run(...step);
    if (!r.ok) {
      run("rm", "-rf", home);
      console.log(`skipped: cannot ${step[0]} here (${r.output})`);
      return undefined;
    }
  }
  const mount = () => must("mount", "-o", "loop,errors=remount-ro", image, dir);
  return {
    dir,
    breakReadOnly() {
      const device = basename(Bun.spawnSync(["findmnt", "-no", "SOURCE", dir]).stdout.toString().trim());
      must("sh", "-c", `echo 1 > /sys/fs/ext4/${device}/trigger_fs_error`);
    },
    cutPower() {
      const libc = dlopen("libc.so.6", { ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 } });
      const fd = openSync(dir, "r");
      try {
        if (libc.symbols.ioctl(fd, FS_IOC_SHUTDOWN, new Uint32Array([SHUTDOWN_NOLOGFLUSH])) !== 0) {
          throw new Error("the file system refused to shut down (FS_IOC_SHUTDOWN)");
        }
      } finally {
        closeSync(fd);
        libc.close();
      }
    },
    repair() {
      must("umount", dir);
      // 1 means "errors corrected", which is the point.
      const fsck = Bun.spawnSync(["e2fsck", "-fy", image], { stdout: "pipe", stderr: "pipe" });
      if (fsck.exitCode !== 0 && fsck.exitCode !== 1) throw new Error(`e2fsck: ${fsck.stdout.toString()}`);
      mount();
    },
    unmount() {
      run("umount", "-l", dir);
      run("rm", "-rf", home);
    },
  };
}

/** Writes a file in `dir` until the file system refuses with ENOSPC; returns its path. */
export function fillUp(dir: string): string {
  const path = join(dir, "filler");
  const fd = openSync(path, "w");
  const chunk = new Uint8Array(64 * 1024).fill(1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
  return path;
}
