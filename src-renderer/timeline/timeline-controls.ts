/** What the keyboard and the menu can ask of the timeline; the mounted timeline fills these in. */
export const timelineControls = {
  zoomBy: (_factor: number): void => {},
  reset: (): void => {}
}
