import { describe, expect, it } from 'vitest'
import { isTrustedSender } from '../../../src-main/main/sender-check'

describe('IPC sender check', () => {
  const mainFrame = { id: 1 }
  const ours = { mainFrame }
  const windowOf = (sender: unknown) => (sender === ours ? { title: 'Verdict' } : null)

  it('accepts the main frame of the app’s window', () => {
    expect(isTrustedSender({ sender: ours, senderFrame: mainFrame }, windowOf)).toBe(true)
  })

  it('refuses a subframe of the window, and any web contents that is not a window of the app', () => {
    expect(isTrustedSender({ sender: ours, senderFrame: { id: 2 } }, windowOf)).toBe(false)
    const stranger = { mainFrame: { id: 3 } }
    expect(isTrustedSender({ sender: stranger, senderFrame: stranger.mainFrame }, windowOf)).toBe(
      false
    )
  })
})
