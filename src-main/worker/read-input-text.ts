import { readFile, stat } from 'node:fs/promises'
import type { Result } from '../shared/result'

/** Text inputs larger than this are not sent to the window. */
export const MAX_VIEW_BYTES = 16 * 1024 * 1024

/** Returns a text input's content (a ruleset snapshot, a log) for the ruleset view. */
export async function readInputText(path: string): Promise<Result<string>> {
  try {
    const st = await stat(path)
    if (st.size > MAX_VIEW_BYTES)
      return {
        ok: false,
        error: { message: `${path}: ${st.size} bytes, larger than the view shows`, file: path }
      }
    return { ok: true, value: await readFile(path, 'utf8') }
  } catch (e) {
    return { ok: false, error: { message: `${path}: ${(e as Error).message}`, file: path } }
  }
}
