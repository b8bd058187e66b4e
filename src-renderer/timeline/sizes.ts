/** Height of one lane, px. */
export const LANE_PX = 18
/** Width of the lane labels left of the plot, px. */
export const LABEL_PX = 270
