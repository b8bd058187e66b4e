/** The parts of an IPC event the sender check reads. */
export interface SenderEvent {
  sender: { mainFrame: unknown }
  senderFrame: unknown
}

/**
 * Returns true when an IPC message comes from the main frame of one of the app's own
 * windows: a subframe, a webview or any other web contents is refused.
 */
export function isTrustedSender(
  event: SenderEvent,
  windowOf: (sender: SenderEvent['sender']) => unknown
): boolean {
  return Boolean(windowOf(event.sender)) && event.senderFrame === event.sender.mainFrame
}
