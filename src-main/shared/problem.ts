/** Something an input reader could not understand, kept with where it was. */
export interface Problem {
  /** The file (or name) the problem was found in. */
  source: string
  /** Where in it: "byte 1234", "line 77", "frame 12". */
  at: string
  message: string
  raw?: string
}

/** Returns a Problem; the usual way readers record what they could not read. */
export function problem(source: string, at: string, message: string, raw?: string): Problem {
  return raw === undefined ? { source, at, message } : { source, at, message, raw }
}
