-- ff_tick_node's shards: the partitions of each shard placed on this node (sql/shared/citus.sql),
-- or one NULL (every partition) when the database is not distributed.
-- returns partitions smallint[]
SELECT partitions FROM ff_node_partitions() AS partitions
