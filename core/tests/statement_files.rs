//! The extension's statement files (`sql/statements/**.sql`) and schema, checked against the core:
//! every file's `$n` legend parses and covers the parameters it uses, and every state literal the
//! SQL names (in a statement or a schema domain) is one of `lifecycle::vocabulary`'s. The state
//! literals thereby have one home, the core, even where the planner needs them written into SQL.

use ff_engine_core::lifecycle::{attempt, eligibility, failure_class, ownership, phase, public, suspension, waitpoint};
use ff_engine_core::sql_legend;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn statement_files() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![repo().join("sql/statements")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "sql") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_statement_file_has_a_parseable_legend() {
    let files = statement_files();
    assert!(files.len() > 50, "found only {} statement files", files.len());
    for (path, sql) in &files {
        // A fragment that continues another's legend (`-- $17 …` first) is read after a stand-in
        // for the legend it continues.
        let first = sql
            .lines()
            .find_map(|l| l.strip_prefix("-- $"))
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next()?.parse::<usize>().ok());
        let stand_in: String = (1..first.unwrap_or(1)).map(|n| format!("-- ${n} continued\n")).collect();
        let sql = &format!("{stand_in}{sql}");
        let legend = sql_legend::parse(sql).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // A fragment without a legend continues a statement whose first file has one.
        if !legend.is_empty() {
            assert!(sql_legend::max_parameter(sql) <= legend.len(), "{}: uses a $n beyond its legend", path.display());
        }
        assert!(
            sql.lines().next().is_some_and(|l| l.starts_with("-- ")),
            "{}: starts without a comment saying what it does",
            path.display()
        );
    }
}

/// `column = 'literal'`, `column <> 'literal'` and `THEN 'literal' ELSE 'literal'` of a state column.
fn state_literals(sql: &str) -> Vec<(String, String)> {
    let columns = ["lifecycle_phase", "ownership_state", "eligibility_state", "attempt_state", "public_state", "state"];
    let mut out = Vec::new();
    for line in sql.lines() {
        let code = line.split("--").next().unwrap_or_default();
        for col in columns {
            let mut rest = code;
            while let Some(at) = rest.find(col) {
                let before_ok = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric() && rest.as_bytes()[at - 1] != b'_';
                rest = &rest[at + col.len()..];
                if !before_ok || rest.starts_with('_') {
                    continue;
                }
                let tail = rest.trim_start().trim_start_matches("<>").trim_start_matches('=').trim_start();
                let tail = tail.strip_prefix("CASE WHEN").map(|t| t.split("THEN").nth(1).unwrap_or_default().trim_start()).unwrap_or(tail);
                for chunk in std::iter::once(tail).chain(tail.split("ELSE").skip(1).map(str::trim_start)) {
                    if let Some(lit) = chunk.strip_prefix('\'').and_then(|t| t.split('\'').next()) {
                        out.push((col.to_string(), lit.to_string()));
                    }
                }
            }
        }
    }
    out
}

fn allowed(column: &str) -> Vec<&'static str> {
    match column {
        "lifecycle_phase" => phase::ALL.to_vec(),
        "ownership_state" => ownership::ALL.to_vec(),
        "eligibility_state" => eligibility::ALL.to_vec(),
        "attempt_state" => attempt::ALL.to_vec(),
        "public_state" => public::ALL.to_vec(),
        _ => suspension::ALL.iter().chain(waitpoint::ALL).copied().collect(),
    }
}

#[test]
fn state_literals_in_statements_come_from_the_core_vocabulary() {
    let mut seen = 0;
    for (path, sql) in statement_files() {
        for (column, literal) in state_literals(&sql) {
            assert!(allowed(&column).contains(&literal.as_str()), "{}: {column} = '{literal}' is not a canonical literal", path.display());
            seen += 1;
        }
    }
    assert!(seen > 20, "the scan found only {seen} state literals");
}

#[test]
fn the_schema_domains_list_exactly_the_core_vocabulary() {
    let schema = std::fs::read_to_string(repo().join("sql/schema.sql")).unwrap();
    for (domain, expected) in [
        ("ff_lifecycle_phase", phase::ALL),
        ("ff_ownership_state", ownership::ALL),
        ("ff_eligibility_state", eligibility::ALL),
        ("ff_attempt_state", attempt::ALL),
        ("ff_public_state", public::ALL),
        ("ff_suspension_state", suspension::ALL),
        ("ff_waitpoint_state", waitpoint::ALL),
        ("ff_failure_class", failure_class::ALL),
    ] {
        let start = schema.find(&format!("CREATE DOMAIN {domain} ")).unwrap_or_else(|| panic!("no domain {domain}"));
        let body = &schema[start..];
        let list = &body[body.find("IN (").unwrap() + 4..body.find("));").unwrap()];
        let values: Vec<&str> = list.split(',').map(|v| v.trim().trim_matches('\'')).collect();
        assert_eq!(values, expected, "domain {domain}");
    }
}

/// The SQL edition's statement functions (sql/edition/statements.sql) are generated from the
/// statement files that sql/edition/statements.list names, byte for byte: the SQL edition runs the
/// Rust edition's statements, not copies. FF_BLESS=1 rewrites the file.
#[test]
fn sql_edition_statements_are_generated_from_the_statement_files() {
    let list = std::fs::read_to_string(repo().join("sql/edition/statements.list")).unwrap();
    let mut out = String::from(
        "-- ff_engine SQL edition: the statements it shares with the Rust edition, one function each.\n\
         -- GENERATED from the files sql/edition/statements.list names; do not edit (core/tests/statement_files.rs).\n\n",
    );
    for file in list.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let sql = std::fs::read_to_string(repo().join("sql/statements").join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        out.push_str(&sql_legend::edition_function(file, &sql).unwrap_or_else(|e| panic!("{file}: {e}")));
        out.push('\n');
    }
    let path = repo().join("sql/edition/statements.sql");
    if std::env::var_os("FF_BLESS").is_some() {
        std::fs::write(&path, &out).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == out, "sql/edition/statements.sql is not what the statement files generate: run FF_BLESS=1 cargo test -p ff-engine-core --test statement_files");
}

/// The statements written into the SQL edition's PL/pgSQL bodies: between a line
/// `-- @statement <file>: <$1 expression>, <$2 expression>, …` and a line `-- @end statement`, the
/// statement file's text with its parameters replaced (`sql_legend::inline_statement`), byte for byte.
/// A statement the Rust edition assembles from fragments names them in order: `<file> + <file> …`.
/// FF_BLESS=1 rewrites them.
#[test]
fn statements_inlined_in_the_sql_edition_are_the_statement_files() {
    let mut inlined = 0;
    for entry in std::fs::read_dir(repo().join("sql/edition")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "sql") || path.ends_with("statements.sql") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut out = String::new();
        let mut lines = text.split_inclusive('\n');
        while let Some(line) = lines.next() {
            out.push_str(line);
            let Some((indent, rest)) = line.split_once("-- @statement ") else { continue };
            let (file, args) = rest.trim_end().split_once(": ").unwrap_or_else(|| panic!("{}: {line}", path.display()));
            let args = sql_legend::split_args(args);
            let sql: String = file
                .split(" + ")
                .map(|f| std::fs::read_to_string(repo().join("sql/statements").join(f)).unwrap_or_else(|e| panic!("{f}: {e}")))
                .collect();
            out.push_str(&sql_legend::inline_statement(&sql, &args, indent).unwrap_or_else(|e| panic!("{}: {file}: {e}", path.display())));
            let end =
                lines.by_ref().find(|l| l.trim() == "-- @end statement").unwrap_or_else(|| panic!("{}: no end of {file}", path.display()));
            out.push_str(end);
            inlined += 1;
        }
        if out != text {
            if std::env::var_os("FF_BLESS").is_some() {
                std::fs::write(&path, &out).unwrap();
            } else {
                panic!(
                    "{}: an inlined statement is not its file's text: run FF_BLESS=1 cargo test -p ff-engine-core --test statement_files",
                    path.display()
                );
            }
        }
    }
    assert!(inlined >= 1, "no inlined statement found");
}

/// Every SQL file the editions install, but the generated and assembled ones.
fn sql_sources() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for dir in ["sql", "sql/edition", "sql/shared"] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.extension().is_some_and(|e| e == "sql") && !name.starts_with("ff_engine--") && name != "statements.sql" {
                out.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The error vocabulary, checked both ways between the core (`error::ErrorKind`: name, SQLSTATE) and
/// the SQL both editions install: every `ff_raise('WFnnn', '<kind>', …)` and `ERRCODE = 'WFnnn'` in
/// SQL names a kind with that SQLSTATE and message prefix, and every kind is raised somewhere in SQL,
/// so the SQL edition can give each error the Rust edition gives.
#[test]
fn errors_raised_in_sql_are_the_core_vocabulary_both_ways() {
    use ff_engine_core::error::ErrorKind;
    let mut raised = std::collections::BTreeSet::new();
    for (path, sql) in sql_sources() {
        for (i, _) in sql.match_indices("ff_raise('") {
            let rest = &sql[i + "ff_raise('".len()..];
            let code = &rest[..5];
            let kind = rest[5..].trim_start_matches("', '").split('\'').next().unwrap();
            let known = ErrorKind::from_name(kind).unwrap_or_else(|| panic!("{}: ff_raise with unknown kind {kind}", path.display()));
            assert_eq!(known.sqlstate(), code, "{}: {kind} is {}, not {code}", path.display(), known.sqlstate());
            raised.insert(code.to_string());
        }
        for (i, _) in sql.match_indices("ERRCODE = 'WF") {
            let code = &sql[i + "ERRCODE = '".len()..i + "ERRCODE = '".len() + 5];
            let kind = ErrorKind::ALL.into_iter().find(|k| k.sqlstate() == code);
            let kind = kind.unwrap_or_else(|| panic!("{}: ERRCODE {code} is no error kind", path.display()));
            // The message that goes with it names the kind.
            let message = &sql[i..sql[i..].find(';').map_or(sql.len(), |j| i + j)];
            let before = &sql[sql[..i].rfind("RAISE").unwrap_or(0)..i];
            assert!(
                message.contains(&format!("{}: ", kind.name())) || before.contains(&format!("{}: ", kind.name())),
                "{}: ERRCODE {code} without the message prefix {}:",
                path.display(),
                kind.name()
            );
            raised.insert(code.to_string());
        }
        if sql.contains("ff_invalid(") {
            raised.insert("WF001".to_string());
        }
    }
    let missing: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.sqlstate()).filter(|c| !raised.contains(*c)).collect();
    assert!(missing.is_empty(), "error kinds the SQL never raises: {missing:?}");
}

/// The SQL edition writes tables through the statement files (inlined or generated) only: a
/// hand-written INSERT, UPDATE or DELETE fails this test; move it to `sql/statements/` instead, or
/// name it here with why.
#[test]
fn the_sql_edition_spells_out_only_the_writes_listed_here() {
    const ALLOWED: &[(&str, usize, &str)] = &[];
    let write =
        |l: &str| ["INSERT INTO ff_", "DELETE FROM ff_"].iter().any(|w| l.contains(w)) || (l.contains("UPDATE ff_") && l.contains(" SET "));
    let mut found = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(repo().join("sql/edition")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".sql") || name == "statements.sql" {
            continue;
        }
        let mut inlined = false;
        let mut n = 0;
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            if line.contains("-- @statement ") {
                inlined = true;
            } else if line.contains("-- @end statement") {
                inlined = false;
            } else if !inlined && !line.trim_start().starts_with("--") && write(line) {
                n += 1;
            }
        }
        if n > 0 {
            found.insert(name, n);
        }
    }
    let allowed: std::collections::BTreeMap<String, usize> = ALLOWED.iter().map(|(f, n, _)| (f.to_string(), *n)).collect();
    assert_eq!(found, allowed, "hand-written writes per file of sql/edition (move new ones to sql/statements/)");
}

/// No SQL function either edition installs runs over 60 hand-written lines, from its `CREATE` to its
/// closing `$$;`: a statement inlined from `sql/statements/` (between `-- @statement` and
/// `-- @end statement`) counts as one line, since it is written and read in its own file. A longer
/// function is split along its steps, as the core's modules are.
#[test]
fn no_sql_function_runs_over_60_hand_written_lines() {
    const MAX_LINES: usize = 60;
    let mut long = Vec::new();
    for (path, sql) in sql_sources() {
        let (mut current, mut lines, mut inlined) = (None::<String>, 0, false);
        for line in sql.lines() {
            let starts = line.strip_prefix("CREATE FUNCTION ").or_else(|| line.strip_prefix("CREATE OR REPLACE FUNCTION "));
            if let (None, Some(rest)) = (&current, starts) {
                current = Some(rest.split('(').next().unwrap_or(rest).to_string());
                lines = 0;
            }
            let Some(name) = &current else { continue };
            if line.contains("-- @statement ") {
                (inlined, lines) = (true, lines + 1);
                continue;
            }
            if line.contains("-- @end statement") {
                inlined = false;
                continue;
            }
            if !inlined {
                lines += 1;
            }
            if !line.starts_with(char::is_whitespace) && line.trim_end().ends_with("$$;") {
                if lines > MAX_LINES {
                    long.push(format!("{} {name}: {lines} lines", path.file_name().unwrap().to_string_lossy()));
                }
                current = None;
            }
        }
    }
    assert!(long.is_empty(), "SQL functions over {MAX_LINES} hand-written lines (split them): {long:#?}");
}
