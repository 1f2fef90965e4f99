-- A partition-first call's first check on a distributed install: the partition's shard is on this node
-- (sql/shared/citus.sql; WF035 not_delegated otherwise).
-- $1 partition_key
SELECT FROM ff_check_partition_here($1)
