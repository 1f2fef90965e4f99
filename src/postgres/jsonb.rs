//! `jsonb` arguments whose conversion cannot fail.
//!
//! pgrx's `JsonB` parses the argument with serde_json while unboxing it, before the function body
//! runs, and panics (`XX000`) on what Postgres accepts but serde_json refuses: nesting deeper than
//! serde_json's recursion limit (128), or a number beyond f64 such as `1e400`. [`JsonbArg`] takes
//! the argument as its text (what `jsonb_out` prints), and [`JsonbArg::parse`] parses it inside the
//! guarded body, so those inputs are `WF001` with a DETAIL naming the field.

use crate::error::{WfError, WfResult};
use pgrx::callconv::{Arg, ArgAbi};
use pgrx::datum::FromDatum;
use pgrx::nullable::Nullable;
use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin};

/// A `jsonb` argument, as text.
pub struct JsonbArg(pub String);

impl JsonbArg {
    /// Parse the argument named `field`: WF001 `<field>_too_deep`, `number_out_of_range` or
    /// `invalid_<field>` when serde_json refuses it.
    pub fn parse(&self, field: &str) -> WfResult<serde_json::Value> {
        serde_json::from_str(&self.0).map_err(|e| json_error(&e.to_string(), field))
    }
}

/// The WF001 for a JSON text serde_json refused.
pub fn json_error(message: &str, field: &str) -> WfError {
    if message.contains("recursion limit exceeded") {
        WfError::invalid_input(&format!("{field}_too_deep"), format!("{field} nests too deep (at most 127 levels of JSON)"))
    } else if message.contains("number out of range") {
        WfError::invalid_input("number_out_of_range", format!("{field} holds a number beyond the range of a 64-bit float"))
    } else {
        WfError::invalid_input(&format!("invalid_{field}"), format!("{field} is not JSON the engine can read"))
    }
}

/// Parse an optional `jsonb` argument.
pub fn parse_optional(arg: Option<JsonbArg>, field: &str) -> WfResult<Option<serde_json::Value>> {
    arg.map(|a| a.parse(field)).transpose()
}

impl FromDatum for JsonbArg {
    unsafe fn from_polymorphic_datum(datum: pg_sys::Datum, is_null: bool, _: pg_sys::Oid) -> Option<JsonbArg> {
        if is_null {
            return None;
        }
        // The text of a valid jsonb value (Postgres checked it on input); jsonb_out cannot fail.
        unsafe {
            let cstr = pgrx::direct_function_call::<&core::ffi::CStr>(pg_sys::jsonb_out, &[Some(datum)])?;
            let text = cstr.to_string_lossy().into_owned();
            pg_sys::pfree(cstr.as_ptr() as *mut core::ffi::c_void);
            Some(JsonbArg(text))
        }
    }
}

unsafe impl<'fcx> ArgAbi<'fcx> for JsonbArg {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        // Only reached for a non-NULL argument of a strict position; ours are all Option<JsonbArg>.
        unsafe { arg.unbox_arg_using_from_datum().unwrap_or(JsonbArg(String::new())) }
    }

    unsafe fn unbox_nullable_arg(arg: Arg<'_, 'fcx>) -> Nullable<Self> {
        unsafe { arg.unbox_arg_using_from_datum().into() }
    }
}

unsafe impl SqlTranslatable for JsonbArg {
    const TYPE_IDENT: &'static str = pgrx::pgrx_resolved_type!(JsonbArg);
    const TYPE_ORIGIN: TypeOrigin = TypeOrigin::External;
    const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> = Ok(SqlMappingRef::literal("jsonb"));
    const RETURN_SQL: Result<ReturnsRef, ReturnsError> = Ok(ReturnsRef::One(SqlMappingRef::literal("jsonb")));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_refusals_become_wf001_naming_the_field() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let e = JsonbArg(deep).parse("resume_condition").unwrap_err();
        assert_eq!(e.detail.as_deref(), Some("resume_condition_too_deep"));
        let e = JsonbArg("{\"a\": 1e400}".into()).parse("tags").unwrap_err();
        assert_eq!(e.detail.as_deref(), Some("number_out_of_range"));
        assert!(JsonbArg("{\"a\": [1, 2.5]}".into()).parse("tags").is_ok());
    }
}
