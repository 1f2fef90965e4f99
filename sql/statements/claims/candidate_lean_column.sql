-- Whether the row needs admission (then the full statement is run instead).
       , cardinality(e.budget_ids) > 0 OR e.quota_policy_id IS NOT NULL AS needs_admission
