-- Fragment of the claim candidate statements: whether the row needs admission (when the lean
-- statement returns one that does, the full statement is run instead).
       , cardinality(e.budget_ids) > 0 OR e.quota_policy_id IS NOT NULL AS needs_admission
