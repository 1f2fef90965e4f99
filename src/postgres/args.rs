//! SQL argument values as the store needs them: Postgres uuids ↔ `uuid::Uuid`, an execution id ↔
//! its two key columns.

use crate::error::{required, WfResult};
use crate::ids::ExecutionId;

pub fn to_pg_uuid(u: &uuid::Uuid) -> pgrx::Uuid {
    pgrx::Uuid::from_bytes(*u.as_bytes())
}

pub fn from_pg_uuid(u: &pgrx::Uuid) -> uuid::Uuid {
    uuid::Uuid::from_bytes(*u.as_bytes())
}

/// A fresh random (v4) uuid.
pub fn new_pg_uuid() -> pgrx::Uuid {
    to_pg_uuid(&uuid::Uuid::new_v4())
}

/// The two key columns of an execution (`partition_key`, `execution_id`).
pub fn ex_key(id: &ExecutionId) -> (i16, pgrx::Uuid) {
    (id.partition as i16, to_pg_uuid(&id.uuid))
}

/// The execution id of a row's two key columns.
pub fn ex_id(partition_key: i16, execution_id: &pgrx::Uuid) -> ExecutionId {
    ExecutionId { partition: partition_key as u16, uuid: from_pg_uuid(execution_id) }
}

/// A required `execution_id text` argument, parsed strictly.
pub fn parse_execution_id(text: Option<&str>) -> WfResult<ExecutionId> {
    ExecutionId::parse(required(text, "execution_id")?)
}
