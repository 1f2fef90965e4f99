-- Flows: a diamond of dependencies released in the transaction of the last upstream, a failure that
-- skips what depends on it, children that signal their parent ("2 of 3 children"), and cancel_flow.
-- Expected output: ../expected/flows.out.
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset null '(null)'
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS ff_engine CASCADE;
RESET client_min_messages;
CREATE EXTENSION ff_engine;
SELECT outcome FROM ff_seed_hmac('k1', repeat('ab', 32));

-- A diamond: extract, then two transforms, then load once both have completed.
SELECT flow_id AS flow, created FROM ff_create_flow(namespace => 'etl') \gset
SELECT execution_id AS extract FROM ff_create_execution('etl', flow_id => :'flow') \gset
SELECT execution_id AS t1 FROM ff_create_execution('etl', flow_id => :'flow', depends_on => ARRAY[:'extract']) \gset
SELECT execution_id AS t2 FROM ff_create_execution('etl', flow_id => :'flow', depends_on => ARRAY[:'extract']) \gset
SELECT execution_id AS load FROM ff_create_execution('etl', flow_id => :'flow', depends_on => ARRAY[:'t1', :'t2']) \gset
SELECT eligibility_state, public_state, cardinality(blocked_by) AS blockers FROM ff_get_execution(:'load');
SELECT state, member_count, counts FROM ff_get_flow(:'flow');

-- Only extract is claimable; completing it releases both transforms.
SELECT execution_id = :'extract' AS is_extract, lease_id, lease_epoch FROM ff_claim('etl', 'w', 'w-1') \gset
SELECT :'is_extract' AS claimed_extract;
SELECT outcome FROM ff_complete(:'extract', :'lease_id', :lease_epoch);
SELECT execution_id = :'t1' AS is_t1, public_state FROM ff_list_flow_members(:'flow')
WHERE execution_id IN (:'t1', :'t2') ORDER BY 1;
SELECT execution_id AS a, lease_id AS la, lease_epoch AS ea FROM ff_claim('etl', 'w', 'w-1') \gset
SELECT execution_id AS b, lease_id AS lb, lease_epoch AS eb FROM ff_claim('etl', 'w', 'w-1') \gset
SELECT outcome FROM ff_complete(:'a', :'la', :ea);
SELECT public_state, cardinality(blocked_by) AS blockers FROM ff_get_execution(:'load');
-- The last upstream's complete releases load in the same transaction.
BEGIN;
SELECT outcome FROM ff_complete(:'b', :'lb', :eb);
SELECT public_state FROM ff_get_execution(:'load');
COMMIT;
SELECT execution_id = :'load' AS is_load, lease_id, lease_epoch FROM ff_claim('etl', 'w', 'w-1') \gset
SELECT :'is_load' AS claimed_load;
SELECT outcome FROM ff_complete(:'load', :'lease_id', :lease_epoch);
SELECT state, counts FROM ff_get_flow(:'flow');

-- A failure skips what depends on it, transitively, with a completion event each.
SELECT flow_id AS f2 FROM ff_create_flow() \gset
SELECT execution_id AS up FROM ff_create_execution('fail', flow_id => :'f2') \gset
SELECT execution_id AS mid FROM ff_create_execution('fail', flow_id => :'f2', depends_on => ARRAY[:'up']) \gset
SELECT execution_id AS tail FROM ff_create_execution('fail', flow_id => :'f2', depends_on => ARRAY[:'mid']) \gset
SELECT lease_id, lease_epoch FROM ff_claim('fail', 'w', 'w-1') \gset
SELECT outcome FROM ff_fail(:'up', :'lease_id', :lease_epoch, 'upstream broke', retryable => false);
SELECT execution_id = :'mid' AS is_mid, public_state, last_error FROM ff_get_execution(:'mid')
UNION ALL SELECT execution_id = :'mid', public_state, last_error FROM ff_get_execution(:'tail');
SELECT outcome, count(*) FROM ff_completion_event GROUP BY outcome ORDER BY outcome;
SELECT state FROM ff_get_flow(:'f2');

-- Children: the parent waits for 2 of its 3 children; a child's end is its signal.
SELECT flow_id AS f3 FROM ff_create_flow() \gset
SELECT execution_id AS parent FROM ff_create_execution('parents', flow_id => :'f3') \gset
SELECT lease_id AS pl, lease_epoch AS pe FROM ff_claim('parents', 'w', 'w-1') \gset
SELECT waitpoint_key FROM ff_create_waitpoint(:'parent', :'pl', :pe, 'children');
SELECT count(*) FROM (SELECT ff_create_execution('kids', parent_execution_id => :'parent', parent_waitpoint_key => 'children')
                      FROM generate_series(1, 3)) s;
-- One child ends before the parent suspends: its signal is buffered.
SELECT execution_id AS k1, lease_id AS kl1, lease_epoch AS ke1 FROM ff_claim('kids', 'w', 'w-1') \gset
SELECT outcome FROM ff_complete(:'k1', :'kl1', :ke1, 'first result'::bytea);
SELECT outcome FROM ff_suspend(:'parent', :'pl', :pe, ff_cond_count(2, 'sources', ARRAY['children']));
SELECT execution_id AS k2, lease_id AS kl2, lease_epoch AS ke2 FROM ff_claim('kids', 'w', 'w-1') \gset
SELECT outcome FROM ff_fail(:'k2', :'kl2', :ke2, 'child broke', retryable => false);
SELECT public_state FROM ff_get_execution(:'parent');
SELECT signal_name, source_type, source_identity IN (:'k1', :'k2') AS from_a_child, convert_from(payload, 'UTF8') AS payload
FROM ff_observe_signals(:'parent') ORDER BY signal_name;

-- cancel_flow: the parent is waiting, the third child too; both are cancelled.
SELECT outcome, members FROM ff_cancel_flow(:'f3', 'cancel_all', 'not needed');
SELECT state, counts, cancel_policy, cancel_reason FROM ff_get_flow(:'f3');
-- The flow takes no new members; bad input is a documented error.
SELECT * FROM ff_create_execution('kids', flow_id => :'f3');
SELECT * FROM ff_create_execution('x', flow_id => gen_random_uuid());
SELECT * FROM ff_cancel_flow(:'f3', 'everything');
