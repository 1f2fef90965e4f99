//! Typed SQL statements: every statement the engine runs is declared with [`statement!`], which
//! gives it an argument struct (fields in `$n` order) and a row struct (fields in column order), and
//! keeps its plan prepared per backend (`SPI_keepplan`) for the backend's lifetime.
//!
//! Nothing can be miscounted silently. When a statement is first prepared in a backend, its SQL
//! file's legend (`-- $1 name` lines at the top) must name the argument struct's fields in order, and
//! every `$n` of the SQL must be declared; when it first returns rows, the result columns must be
//! the row struct's fields, by name and in order. A mismatch is an internal error (`WF099`) on first
//! use, which every test of the statement catches. A NOT NULL column (a row field that is not an
//! `Option`) that comes back NULL is an internal error too, never a default.
//!
//! Every plan is prepared read-write (`prepare_mut`), even a pure read: a read-only SPI execution
//! reuses the calling query's snapshot, and the hot paths rely on each statement seeing what committed
//! while an earlier statement waited for a row lock (READ COMMITTED), and on seeing their own writes.

use crate::error::{WfError, WfResult};
use crate::keys::StoredKey;
use crate::lifecycle::States;
use ff_engine_core::sql_legend;
use pgrx::datum::{DatumWithOid, FromDatum, IntoDatum};
use pgrx::pg_sys::PgOid;
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiHeapTupleData, SpiTupleTable};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// What [`statement!`] records of one statement.
pub struct Plan {
    /// The statement's name (its module), for error messages.
    pub name: &'static str,
    pub sql: &'static str,
    /// The text a database still on 0.1.0's schema runs (see [`release`](super::release)), when
    /// the statement changed since: the same legend, so the same arguments.
    pub on_0_1_schema: Option<&'static str>,
    /// The parameters, one entry per `$n`: (argument field, type).
    pub params: fn() -> Vec<(&'static str, PgOid)>,
    /// The result columns the row struct reads, in order.
    pub columns: fn() -> Vec<&'static str>,
}

/// A plan kept for the backend's lifetime, and whether its result columns were checked.
struct Kept {
    stmt: OwnedPreparedStatement,
    columns_checked: Cell<bool>,
}

thread_local! {
    // Keyed by the address of the `static Plan`. Plans are leaked on purpose: they live as long as
    // the backend, and freeing SPI plans from a thread-local destructor at exit would be unsafe.
    static CACHE: RefCell<HashMap<usize, &'static Kept>> = RefCell::new(HashMap::new());
}

impl Plan {
    fn internal(&self, what: impl std::fmt::Display) -> WfError {
        WfError::corruption(format!("statement {}: {what}", self.name))
    }

    /// The kept plan, preparing it (and checking its legend) on first use in this backend.
    fn kept(&'static self, client: &SpiClient<'_>) -> WfResult<&'static Kept> {
        let (sql, key) = match self.on_0_1_schema {
            Some(previous) if super::release::on_0_1_schema(client)? => (previous, self as *const Plan as usize + 1),
            _ => (self.sql, self as *const Plan as usize),
        };
        if let Some(kept) = CACHE.with(|c| c.borrow().get(&key).copied()) {
            return Ok(kept);
        }
        let params = (self.params)();
        let names: Vec<&str> = params.iter().map(|(n, _)| *n).collect();
        sql_legend::check(sql, &names).map_err(|e| self.internal(e))?;
        let types: Vec<PgOid> = params.iter().map(|(_, t)| *t).collect();
        let prepared = client.prepare_mut(sql, &types).map_err(|e| self.internal(e))?;
        let kept: &'static Kept = Box::leak(Box::new(Kept { stmt: prepared.keep(), columns_checked: Cell::new(false) }));
        CACHE.with(|c| c.borrow_mut().insert(key, kept));
        Ok(kept)
    }

    /// Execute with `args` (already in `$n` order).
    pub fn run<'conn>(&'static self, client: &SpiClient<'conn>, args: &[DatumWithOid<'_>]) -> WfResult<SpiTupleTable<'conn>> {
        let kept = self.kept(client)?;
        let table = client.select(&kept.stmt, None, args).map_err(|e| self.internal(e))?;
        if !kept.columns_checked.get() && !table.is_empty() {
            self.check_columns(&table)?;
            kept.columns_checked.set(true);
        }
        Ok(table)
    }

    fn check_columns(&self, table: &SpiTupleTable<'_>) -> WfResult<()> {
        let expected = (self.columns)();
        let n = table.columns().unwrap_or(0);
        let actual: Vec<String> = (1..=n).map(|i| table.column_name(i).unwrap_or_default()).collect();
        if actual != expected {
            return Err(self.internal(format!("returns columns {actual:?}, its row struct reads {expected:?}")));
        }
        Ok(())
    }

    /// Column `at` (1-based) of `row`, which the row struct's field `field` reads.
    pub fn column<T: FromDatum + IntoDatum>(&self, row: &SpiHeapTupleData<'_>, at: usize, field: &str) -> WfResult<Option<T>> {
        row.get::<T>(at).map_err(|e| self.internal(format!("column {field}: {e}")))
    }

    /// A NOT NULL column that came back NULL.
    pub fn null_column(&self, field: &str) -> WfError {
        self.internal(format!("column {field} is NULL"))
    }
}

/// A statement parameter: a value bound to one `$n` (or, for [`States`], to five).
pub trait Param {
    /// Append this parameter's (name, type) per `$n` it binds.
    fn describe(name: &'static str, out: &mut Vec<(&'static str, PgOid)>);
    /// Append its datums.
    fn push<'a>(self, out: &mut Vec<DatumWithOid<'a>>)
    where
        Self: 'a;
}

macro_rules! scalar_params {
    ($($t:ty),* $(,)?) => {$(
        impl<'s> Param for $t {
            fn describe(name: &'static str, out: &mut Vec<(&'static str, PgOid)>) {
                out.push((name, PgOid::from(<$t as IntoDatum>::type_oid())));
            }
            fn push<'a>(self, out: &mut Vec<DatumWithOid<'a>>) where Self: 'a {
                out.push(self.into());
            }
        }
        impl<'s> Param for Option<$t> {
            fn describe(name: &'static str, out: &mut Vec<(&'static str, PgOid)>) {
                out.push((name, PgOid::from(<$t as IntoDatum>::type_oid())));
            }
            fn push<'a>(self, out: &mut Vec<DatumWithOid<'a>>) where Self: 'a {
                out.push(self.into());
            }
        }
    )*};
}
scalar_params!(
    bool,
    i16,
    i32,
    i64,
    &'s str,
    String,
    &'s [u8],
    Vec<u8>,
    pgrx::Uuid,
    pgrx::JsonB,
    Vec<String>,
    Vec<Option<String>>,
    Vec<pgrx::Uuid>,
    Vec<i64>,
    Vec<i16>
);

/// The five state columns, always written together from one [`States`] (`lifecycle_phase`,
/// `ownership_state`, `eligibility_state`, `attempt_state`, `public_state`).
impl Param for States {
    fn describe(name: &'static str, out: &mut Vec<(&'static str, PgOid)>) {
        for _ in 0..5 {
            <&str as Param>::describe(name, out);
        }
    }
    fn push<'a>(self, out: &mut Vec<DatumWithOid<'a>>)
    where
        Self: 'a,
    {
        for column in [self.lifecycle_phase, self.ownership_state, self.eligibility_state, self.attempt_state, self.public_state] {
            out.push(column.into());
        }
    }
}

/// A row field: one column (named as the field), or several (a key).
pub trait Column: Sized {
    /// How many columns the field reads.
    const WIDTH: usize = 1;
    /// Append the column names the field reads.
    fn names(field: &'static str, out: &mut Vec<&'static str>) {
        out.push(field);
    }
    /// Read the field from `row`, starting at 1-based column `at`.
    fn read(plan: &Plan, row: &SpiHeapTupleData<'_>, at: usize, field: &'static str) -> WfResult<Self>;
}

macro_rules! columns {
    ($($t:ty),* $(,)?) => {$(
        impl Column for $t {
            fn read(plan: &Plan, row: &SpiHeapTupleData<'_>, at: usize, field: &'static str) -> WfResult<Self> {
                plan.column(row, at, field)?.ok_or_else(|| plan.null_column(field))
            }
        }
        impl Column for Option<$t> {
            fn read(plan: &Plan, row: &SpiHeapTupleData<'_>, at: usize, field: &'static str) -> WfResult<Self> {
                plan.column(row, at, field)
            }
        }
    )*};
}
columns!(bool, i16, i32, i64, String, Vec<u8>, pgrx::Uuid, pgrx::JsonB, Vec<String>, Vec<i64>, Vec<i32>, Vec<i16>);

/// The signing key a statement reads with the `kid, secret, active, expires_at_ms` columns of
/// `ff_keystore` (usually LEFT JOINed, so that reading a key costs no statement of its own); `None`
/// when the join found no key.
impl Column for Option<StoredKey> {
    const WIDTH: usize = 4;
    fn names(_field: &'static str, out: &mut Vec<&'static str>) {
        out.extend(["kid", "secret", "active", "expires_at_ms"]);
    }
    fn read(plan: &Plan, row: &SpiHeapTupleData<'_>, at: usize, _field: &'static str) -> WfResult<Self> {
        let Some(kid) = plan.column::<String>(row, at, "kid")? else { return Ok(None) };
        Ok(Some(StoredKey {
            kid,
            secret: plan.column(row, at + 1, "secret")?.ok_or_else(|| plan.null_column("secret"))?,
            active: plan.column(row, at + 2, "active")?.ok_or_else(|| plan.null_column("active"))?,
            expires_at_ms: plan.column(row, at + 3, "expires_at_ms")?,
        }))
    }
}

/// Declare a statement: a module holding its `Args` (one field per parameter, in `$n` order), its
/// `Row` (one field per result column, in order; `Option` where the column may be NULL), and
/// `all` / `one` / `optional` / `execute` to run it.
///
/// ```ignore
/// statement! {
///     /// What it does.
///     pub mod renew = "leases/renew.sql";
///     args<'a> { partition_key: i16, execution_id: pgrx::Uuid, lease_expires_at_ms: i64, now_ms: i64, execution_ref: &'a str }
///     row { lease_epoch: i64 }
/// }
/// ```
/// Borrowed arguments use the lifetime `'a`, declared as `args<'a>`.
#[macro_export]
macro_rules! statement {
    (
        $(#[$doc:meta])*
        $vis:vis mod $name:ident = $file:literal;
        args $(<$lt:lifetime>)? { $($a:ident : $aty:ty),* $(,)? }
        row { $($c:ident : $cty:ty),* $(,)? }
    ) => {
        $crate::statement! {
            $(#[$doc])*
            $vis mod $name = variants [[$file]];
            args $(<$lt>)? { $($a : $aty),* }
            row { $($c : $cty),* }
        }
    };
    (
        $(#[$doc:meta])*
        $vis:vis mod $name:ident = $file:literal, on 0.1.0 schema $old:literal;
        args $(<$lt:lifetime>)? { $($a:ident : $aty:ty),* $(,)? }
        row { $($c:ident : $cty:ty),* $(,)? }
    ) => {
        $crate::statement! {
            $(#[$doc])*
            $vis mod $name = variants [[$file]], on 0.1.0 schema [[$old]];
            args $(<$lt>)? { $($a : $aty),* }
            row { $($c : $cty),* }
        }
    };
    (
        $(#[$doc:meta])*
        $vis:vis mod $name:ident = variants [$([$($file:literal),+ $(,)?]),+ $(,)?];
        args $(<$lt:lifetime>)? { $($a:ident : $aty:ty),* $(,)? }
        row { $($c:ident : $cty:ty),* $(,)? }
    ) => {
        $crate::statement! {
            @plans $(#[$doc])*
            $vis mod $name = [$((concat!($(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/sql/statements/", $file))),+), None)),+];
            args $(<$lt>)? { $($a : $aty),* }
            row { $($c : $cty),* }
        }
    };
    (
        $(#[$doc:meta])*
        $vis:vis mod $name:ident = variants [$([$($file:literal),+ $(,)?]),+ $(,)?],
            on 0.1.0 schema [$([$($old:literal),+ $(,)?]),+ $(,)?];
        args $(<$lt:lifetime>)? { $($a:ident : $aty:ty),* $(,)? }
        row { $($c:ident : $cty:ty),* $(,)? }
    ) => {
        $crate::statement! {
            @plans $(#[$doc])*
            $vis mod $name = [$((
                concat!($(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/sql/statements/", $file))),+),
                Some(concat!($(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/sql/statements/", $old))),+))
            )),+];
            args $(<$lt>)? { $($a : $aty),* }
            row { $($c : $cty),* }
        }
    };
    (
        @plans $(#[$doc:meta])*
        $vis:vis mod $name:ident = [$(($sql:expr, $previous:expr)),+];
        args $(<$lt:lifetime>)? { $($a:ident : $aty:ty),* $(,)? }
        row { $($c:ident : $cty:ty),* $(,)? }
    ) => {
        $(#[$doc])*
        #[allow(dead_code, unused_imports, unused_mut, unused_variables, clippy::all)]
        $vis mod $name {
            use super::*;
            use $crate::postgres::statement::Plan;
            use $crate::error::WfResult;

            /// The statement's parameters, in `$n` order.
            pub struct Args$(<$lt>)? {
                $(pub $a: $aty,)*
            }
            /// One result row, columns in order.
            pub struct Row {
                $(pub $c: $cty,)*
            }

            fn params<'a>() -> Vec<(&'static str, ::pgrx::pg_sys::PgOid)> {
                let mut out = Vec::new();
                $(<$aty as $crate::postgres::statement::Param>::describe(stringify!($a), &mut out);)*
                out
            }
            fn columns() -> Vec<&'static str> {
                let mut out = Vec::new();
                $(<$cty as $crate::postgres::statement::Column>::names(stringify!($c), &mut out);)*
                out
            }
            /// The statement's SQL (one entry per variant: the files concatenated), its legend and
            /// the struct layouts.
            pub static PLANS: &[Plan] = &[$(Plan {
                name: stringify!($name),
                sql: $sql,
                on_0_1_schema: $previous,
                params,
                columns,
            }),+];

            fn datums<'a>(args: Args$(<$lt>)?) -> Vec<::pgrx::datum::DatumWithOid<'a>> {
                let mut out = Vec::new();
                $($crate::postgres::statement::Param::push(args.$a, &mut out);)*
                out
            }
            #[allow(unused_assignments, unused_mut, unused_variables)]
            fn read(plan: &Plan, row: &::pgrx::spi::SpiHeapTupleData<'_>) -> WfResult<Row> {
                let mut at = 1usize;
                Ok(Row {$($c: {
                    let value = <$cty as $crate::postgres::statement::Column>::read(plan, row, at, stringify!($c))?;
                    at += <$cty as $crate::postgres::statement::Column>::WIDTH;
                    value
                },)*})
            }
            /// Every row of variant `v`.
            pub fn all_of<'a>(v: usize, client: &::pgrx::spi::SpiClient<'_>, args: Args$(<$lt>)?) -> WfResult<Vec<Row>> {
                PLANS[v].run(client, &datums(args))?.map(|r| read(&PLANS[v], &r)).collect()
            }
            /// The first row of variant `v`, if any.
            pub fn optional_of<'a>(v: usize, client: &::pgrx::spi::SpiClient<'_>, args: Args$(<$lt>)?) -> WfResult<Option<Row>> {
                PLANS[v].run(client, &datums(args))?.next().map(|r| read(&PLANS[v], &r)).transpose()
            }
            /// The one row variant `v` always returns.
            pub fn one_of<'a>(v: usize, client: &::pgrx::spi::SpiClient<'_>, args: Args$(<$lt>)?) -> WfResult<Row> {
                optional_of(v, client, args)?.ok_or_else(|| PLANS[v].null_column("(no row)"))
            }
            /// Run variant `v`; how many rows it processed.
            pub fn execute_of<'a>(v: usize, client: &::pgrx::spi::SpiClient<'_>, args: Args$(<$lt>)?) -> WfResult<usize> {
                Ok(PLANS[v].run(client, &datums(args))?.len())
            }
            /// Every row.
            pub fn all<'a>(client: &::pgrx::spi::SpiClient<'_>, args: Args$(<$lt>)?) -> WfResult<Vec<Row>> {
                all_of(0, client, args)
            }
            /// The first row, if any.
            pub fn optional<'a>(client: &::pgrx::spi::SpiClient<'_>, args: Args$(<$lt>)?) -> WfResult<Option<Row>> {
                optional_of(0, client, args)
            }
            /// The one row the statement always returns.
            pub fn one<'a>(client: &::pgrx::spi::SpiClient<'_>, args: Args$(<$lt>)?) -> WfResult<Row> {
                one_of(0, client, args)
            }
            /// Run it; how many rows it processed (returned, or changed when it returns none).
            pub fn execute<'a>(client: &::pgrx::spi::SpiClient<'_>, args: Args$(<$lt>)?) -> WfResult<usize> {
                execute_of(0, client, args)
            }
        }
    };
}

/// Server clock in unix milliseconds (semantics: every timestamp is the database's clock).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
