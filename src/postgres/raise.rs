//! The one audited place where ff_engine raises errors to Postgres.
//!
//! pgrx 0.18 re-raises errors through its `PgSqlErrorCode` enum, which knows only standard SQLSTATEs:
//! a custom `WF…` code would surface as `XX000`. So every `#[pg_extern]` body runs inside
//! [`guarded`], which
//! 1. runs the body under `catch_unwind`;
//! 2. lets pgrx's own caught Postgres errors (`CaughtError`, e.g. 40001, 57014, 23505) continue
//!    unwinding unchanged, so pgrx re-raises them with their standard codes;
//! 3. maps a genuine Rust panic to `WF099 corruption` (never `XX000`, never a dead backend);
//! 4. for a `WfError`, copies message and detail into palloc'd memory, drops every Rust-owned value,
//!    and only then calls `errstart`/`errcode`/`errmsg`/`errdetail`/`errfinish`, which longjmps out.
//!
//! Rule: never call an ff_engine function through SPI from inside another one (a `WF` error crossing
//! a nested SPI call would be re-mapped by pgrx). The hot paths never do.

use crate::error::{WfError, WfResult};
use std::ffi::{c_char, c_int, CString};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

/// Postgres's ERROR elevel (elog.h).
const ERROR: c_int = 21;

// Declared here, not taken from pgrx's bindings: pgrx wraps its bindings in a guard that would catch
// the longjmp and turn it back into a pgrx error with a mapped (lost) SQLSTATE.
extern "C-unwind" {
    fn errstart(elevel: c_int, domain: *const c_char) -> bool;
    fn errcode(sqlerrcode: c_int) -> c_int;
    fn errmsg(fmt: *const c_char, ...) -> c_int;
    fn errdetail(fmt: *const c_char, ...) -> c_int;
    fn errfinish(filename: *const c_char, lineno: c_int, funcname: *const c_char);
}

/// Run an extension function body; return its value or raise its error with the right SQLSTATE.
pub fn guarded<T, F: FnOnce() -> WfResult<T>>(body: F) -> T {
    let outcome = catch_unwind(AssertUnwindSafe(body));
    let (code, message, detail) = match outcome {
        Ok(Ok(value)) => return value,
        Ok(Err(err)) => to_pg_strings(err),
        Err(payload) => {
            if let Some(err) = reraised_wf_error(&*payload) {
                drop(payload);
                to_pg_strings(err)
            } else if payload.is::<pgrx::pg_sys::panic::CaughtError>()
                || payload.is::<pgrx::pg_sys::panic::ErrorReportWithLevel>()
                || payload.is::<pgrx::pg_sys::panic::ErrorReport>()
            {
                // A Postgres error (or pgrx ereport) from inside SPI: keep unwinding; pgrx's guard
                // re-raises it with its own (standard) SQLSTATE.
                resume_unwind(payload);
            } else {
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                drop(payload);
                to_pg_strings(WfError::corruption(format!("internal error in ff_engine: {what}")))
            }
        }
    };
    // Every Rust-owned value is dropped by now: only a packed code and two palloc'd C strings remain.
    unsafe { raise_raw(code, message, detail) }
}

/// A `WF…` error raised in SQL that this function ran through SPI (the shared PL/pgSQL of
/// `sql/shared/`, or a trigger it fires): pgrx caught it and, not knowing the SQLSTATE, keeps it as
/// `XX000`. Our messages name their kind (`<kind>: <what>`), so the error is raised again with its
/// own SQLSTATE, message and detail.
fn reraised_wf_error(payload: &(dyn std::any::Any + Send)) -> Option<WfError> {
    use pgrx::pg_sys::panic::CaughtError;
    let report = match payload.downcast_ref::<CaughtError>()? {
        CaughtError::PostgresError(report) => report,
        _ => return None,
    };
    if report.sql_error_code() != pgrx::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR {
        return None;
    }
    WfError::from_message(report.message(), report.detail())
}

fn palloc_cstr(s: &str) -> *mut c_char {
    // Interior NULs cannot come from our messages, but never panic here.
    let c = CString::new(s.replace('\0', "\\0")).unwrap_or_default();
    unsafe { pgrx::pg_sys::pstrdup(c.as_ptr()) }
}

fn to_pg_strings(err: WfError) -> (c_int, *mut c_char, *mut c_char) {
    let code = err.kind.packed_sqlstate();
    let message = palloc_cstr(&err.message);
    let detail = err.detail.as_deref().map(palloc_cstr).unwrap_or(std::ptr::null_mut());
    (code, message, detail)
}

/// # Safety
/// Caller must hold no value with a destructor: `errfinish` at ERROR longjmps out of this frame and
/// every Rust frame up to the function-call boundary.
unsafe fn raise_raw(code: c_int, message: *mut c_char, detail: *mut c_char) -> ! {
    const PERCENT_S: &std::ffi::CStr = c"%s";
    if errstart(ERROR, std::ptr::null()) {
        errcode(code);
        errmsg(PERCENT_S.as_ptr(), message);
        if !detail.is_null() {
            errdetail(PERCENT_S.as_ptr(), detail);
        }
        errfinish(c"ff_engine".as_ptr(), 0, c"ff_engine".as_ptr());
    }
    // errstart(ERROR) always returns true and errfinish(ERROR) never returns.
    unreachable!("errfinish returned at ERROR level")
}
