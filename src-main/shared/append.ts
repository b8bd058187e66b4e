/**
 * Appends every item of `items` to `into`. `into.push(...items)` passes each item as an argument
 * and overflows the stack past about 120,000 of them (a 200,000-line drop log, a large nft set):
 * lists whose length the input decides are appended with this instead.
 */
export function append<T>(into: T[], items: readonly T[]): void {
  for (let i = 0; i < items.length; i++) into.push(items[i])
}
