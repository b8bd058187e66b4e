/** What crosses IPC instead of a thrown error: Electron flattens errors into prefixed strings. */
export type Result<T> =
  { ok: true; value: T } | { ok: false; error: { message: string; file?: string; hint?: string } }
