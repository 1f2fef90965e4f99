-- Fragment of the claim candidate statements: the lane is not paused (ff_pause_lane). It names no
-- column of the scanned row, so the planner makes it a one-time filter: a paused lane's scan does not
-- start, an open lane pays one probe of ff_lane_pause's (usually empty) index per claim.
  AND NOT EXISTS (SELECT 1 FROM ff_lane_pause p WHERE p.lane_id = $1)
