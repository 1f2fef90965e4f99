-- Whether this database's ff_exec_core is distributed by Citus (sql/shared/citus.sql), read once per
-- backend until a relcache invalidation.
SELECT ff_distributed() AS distributed
