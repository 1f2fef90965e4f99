//! `ff_complete_many`'s argument: a JSON array of `{execution_id, lease_id, lease_epoch,
//! result_hex?}`. A malformed element becomes its own error row; the rest are completed in a global
//! lock order (partition, uuid) so that concurrent batches cannot deadlock.

use crate::error::{WfError, WfResult};
use crate::ids::ExecutionId;
use serde_json::Value;

/// Most elements of one call.
pub const MAX_ITEMS: usize = 10_000;

/// One lease to complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseToComplete {
    pub execution_id: ExecutionId,
    pub lease_id: uuid::Uuid,
    pub lease_epoch: i64,
    pub result: Option<Vec<u8>>,
}

/// One element as given: the execution id text it names (empty when none) and what it parsed to.
#[derive(Debug)]
pub struct Item {
    pub text_id: String,
    pub parsed: WfResult<LeaseToComplete>,
}

fn parse_item(v: &Value) -> Item {
    let text_id = v.get("execution_id").and_then(Value::as_str).unwrap_or("").to_string();
    let parsed = (|| {
        let obj = v.as_object().ok_or_else(|| WfError::invalid_input("invalid_leases", "each element must be an object"))?;
        let execution_id = ExecutionId::parse(obj.get("execution_id").and_then(Value::as_str).unwrap_or(""))?;
        let lease_id = obj
            .get("lease_id")
            .and_then(Value::as_str)
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .ok_or_else(|| WfError::invalid_input("invalid_lease_id", "lease_id must be a uuid"))?;
        let lease_epoch = obj
            .get("lease_epoch")
            .and_then(Value::as_i64)
            .ok_or_else(|| WfError::invalid_input("invalid_lease_epoch", "lease_epoch must be an integer"))?;
        let result = match obj.get("result_hex") {
            None | Some(Value::Null) => None,
            Some(Value::String(h)) => {
                Some(hex::decode(h).map_err(|_| WfError::invalid_input("invalid_result_hex", "result_hex must be hex"))?)
            }
            Some(_) => return Err(WfError::invalid_input("invalid_result_hex", "result_hex must be a hex string")),
        };
        Ok(LeaseToComplete { execution_id, lease_id, lease_epoch, result })
    })();
    Item { text_id, parsed }
}

/// Parse the array; the items in input order and the order to lock them in (indices).
pub fn parse(leases: &Value) -> WfResult<(Vec<Item>, Vec<usize>)> {
    let elements = leases.as_array().ok_or_else(|| WfError::invalid_input("invalid_leases", "leases must be a JSON array"))?;
    if elements.len() > MAX_ITEMS {
        return Err(WfError::invalid_input("invalid_leases", "at most 10000 leases per call"));
    }
    let items: Vec<Item> = elements.iter().map(parse_item).collect();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| items[i].parsed.as_ref().ok().map(|p| p.execution_id));
    Ok((items, order))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "{fp:9}:6f1c1e9e-0000-4000-8000-000000000001";
    const B: &str = "{fp:3}:6f1c1e9e-0000-4000-8000-000000000002";
    const L: &str = "00000000-0000-4000-8000-000000000009";

    #[test]
    fn elements_parse_and_lock_in_key_order() {
        let v = json!([
            {"execution_id": A, "lease_id": L, "lease_epoch": 2, "result_hex": "6869"},
            {"execution_id": B, "lease_id": L, "lease_epoch": 1},
            "junk"
        ]);
        let (items, order) = parse(&v).unwrap();
        assert_eq!(items[0].parsed.as_ref().unwrap().result.as_deref(), Some(&b"hi"[..]));
        assert_eq!(items[1].parsed.as_ref().unwrap().lease_epoch, 1);
        assert_eq!(items[2].text_id, "");
        assert_eq!(items[2].parsed.as_ref().unwrap_err().detail.as_deref(), Some("invalid_leases"));
        assert_eq!(order, [2, 1, 0], "errors first, then partition 3 before partition 9");
    }

    #[test]
    fn bad_elements_name_their_field() {
        let detail = |v: Value| parse(&json!([v])).unwrap().0.remove(0).parsed.unwrap_err().detail.unwrap();
        assert_eq!(detail(json!({"execution_id": A, "lease_epoch": 1})), "invalid_lease_id");
        assert_eq!(detail(json!({"execution_id": A, "lease_id": L})), "invalid_lease_epoch");
        assert_eq!(detail(json!({"execution_id": A, "lease_id": L, "lease_epoch": 1, "result_hex": "zz"})), "invalid_result_hex");
        assert_eq!(detail(json!({"execution_id": A, "lease_id": L, "lease_epoch": 1, "result_hex": 5})), "invalid_result_hex");
        assert!(parse(&json!({})).is_err());
    }
}
