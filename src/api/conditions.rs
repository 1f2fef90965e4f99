//! `ff_cond_check`: a resume condition validated by the code `ff_suspend` runs, returned in its
//! canonical form. The builders (`ff_cond_single`, `ff_cond_all`, …) are SQL functions in
//! `sql/conditions.sql` that assemble the JSON and pass it through this one.

use crate::condition::Condition;
use crate::error::required;
use crate::postgres::jsonb::{parse_optional, JsonbArg};
use crate::postgres::raise::guarded;
use pgrx::prelude::*;

/// Validate a resume condition as `ff_suspend` does (`WF001` with the same DETAIL codes) and return
/// it in canonical form.
#[pg_extern(immutable, parallel_safe)]
#[search_path(@extschema@, pg_temp)]
fn ff_cond_check(resume_condition: Option<JsonbArg>) -> pgrx::JsonB {
    guarded(|| {
        let value = parse_optional(resume_condition, "resume_condition")?;
        let condition = Condition::parse(required(value.as_ref(), "resume_condition")?)?;
        Ok(pgrx::JsonB(condition.to_json()))
    })
}
