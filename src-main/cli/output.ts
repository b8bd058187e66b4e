/** Buffers text for stdout and waits for the pipe to drain, so a huge listing never piles up in memory. */
export function createOutput(stream: NodeJS.WritableStream = process.stdout): {
  write(text: string): void
  flush(): Promise<void>
  pending(): boolean
} {
  let parts: string[] = []
  let size = 0
  let blocked: Promise<void> | undefined
  const flushNow = (): void => {
    if (size === 0) return
    const ok = stream.write(parts.join(''))
    parts = []
    size = 0
    if (!ok)
      blocked = new Promise((resolve) =>
        stream.once('drain', () => ((blocked = undefined), resolve()))
      )
  }
  return {
    write(text) {
      parts.push(text)
      size += text.length
      if (size > 1 << 16) flushNow()
    },
    async flush() {
      flushNow()
      if (blocked) await blocked
    },
    pending: () => blocked !== undefined
  }
}
