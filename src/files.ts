/** Why a file named in the settings could not be read, in words an operator acts on. */

const READ_FAILURES: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EISDIR: "it is a directory",
  ENOTDIR: "a part of the path is not a directory",
  ENAMETOOLONG: "the path is too long",
};

export function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  return READ_FAILURES[code] ?? (code || String(error));
}
