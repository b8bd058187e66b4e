/** A file that cannot be read at all: the message names the file, what was expected and where. */
export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly hint?: string
  ) {
    super(`${file}: ${detail}`)
    this.name = 'InputError'
  }
}
