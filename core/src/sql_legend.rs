//! The parameter legend of a statement file: the `-- $n name` lines at its top, which say what each
//! `$n` holds. The extension checks, when it first prepares a statement, that the legend names the
//! statement's argument fields in order and that the SQL uses no `$n` it does not declare, so a
//! parameter cannot be miscounted (pg_graphql gets the same from numbering `$n` as values are pushed).
//!
//! ```text
//! -- $1 partition_key
//! -- $2 execution_id
//! -- $3..$7 states            (one field bound to several parameters)
//! ```

/// The legend of `sql`: one name per `$n`, in order (a `$a..$b` line repeats its name).
pub fn parse(sql: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    for line in sql.lines() {
        let Some(rest) = line.trim_start().strip_prefix("-- $") else { continue };
        let (range, name) = rest.split_once(char::is_whitespace).ok_or_else(|| format!("legend line without a name: {line}"))?;
        let (first, last) = match range.split_once("..$") {
            Some((a, b)) => (a, b),
            None => (range, range),
        };
        let first: usize = first.parse().map_err(|_| format!("bad legend line: {line}"))?;
        let last: usize = last.parse().map_err(|_| format!("bad legend line: {line}"))?;
        if first != names.len() + 1 || last < first {
            return Err(format!("legend line out of order: {line} (expected ${})", names.len() + 1));
        }
        let name = name.split_whitespace().next().unwrap_or_default().to_string();
        names.extend(std::iter::repeat_n(name, last - first + 1));
    }
    Ok(names)
}

/// The highest `$n` the SQL (comments excluded) refers to; 0 when none.
pub fn max_parameter(sql: &str) -> usize {
    let mut max = 0;
    for line in sql.lines() {
        let code = line.split("--").next().unwrap_or_default();
        let bytes = code.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'$' {
                let digits: String = code[i + 1..].chars().take_while(char::is_ascii_digit).collect();
                if let Ok(n) = digits.parse::<usize>() {
                    max = max.max(n);
                }
                i += 1 + digits.len();
            } else {
                i += 1;
            }
        }
    }
    max
}

/// Check `sql`'s legend against the argument fields `fields` (one entry per `$n`).
pub fn check(sql: &str, fields: &[&str]) -> Result<(), String> {
    let legend = parse(sql)?;
    if legend != fields {
        return Err(format!("legend {legend:?} does not match the argument fields {fields:?}"));
    }
    let max = max_parameter(sql);
    if max > fields.len() {
        return Err(format!("uses ${max} but declares {} parameters", fields.len()));
    }
    Ok(())
}

/// A typed legend, as the SQL edition needs it: `-- $n name type` per parameter (`-- $a..$b name type`
/// for one field bound to several), and the
/// result columns on one line, `-- returns name type, name type` (none: the statement returns no rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typed {
    /// (name, SQL type) per `$n`.
    pub params: Vec<(String, String)>,
    /// (name, SQL type) per result column.
    pub returns: Vec<(String, String)>,
}

fn name_and_type(text: &str, line: &str) -> Result<(String, String), String> {
    let mut words = text.split_whitespace();
    let name = words.next().ok_or_else(|| format!("no name: {line}"))?;
    let ty: Vec<&str> = words.collect();
    if ty.is_empty() {
        return Err(format!("no type: {line}"));
    }
    Ok((name.to_string(), ty.join(" ")))
}

/// The typed legend of `sql`.
pub fn typed(sql: &str) -> Result<Typed, String> {
    let mut params = Vec::new();
    let mut returns = Vec::new();
    for line in sql.lines() {
        if let Some(rest) = line.strip_prefix("-- $") {
            let (range, text) = rest.split_once(char::is_whitespace).ok_or_else(|| format!("legend line without a name: {line}"))?;
            let (first, last) = range.split_once("..$").unwrap_or((range, range));
            let (first, last) = (first.parse::<usize>().ok(), last.parse::<usize>().ok());
            match (first, last) {
                (Some(a), Some(b)) if a == params.len() + 1 && b >= a => {
                    let p = name_and_type(text, line)?;
                    params.extend(std::iter::repeat_n(p, b - a + 1));
                }
                _ => return Err(format!("legend line out of order: {line}")),
            }
        } else if let Some(cols) = line.strip_prefix("-- returns ") {
            for col in cols.split(',') {
                returns.push(name_and_type(col, line)?);
            }
        }
    }
    Ok(Typed { params, returns })
}

/// The SQL edition's function that runs the statement file `file` (its path under
/// `sql/statements/`, e.g. `steps/set_step.sql`) whose text is `sql`: `ff_stmt_<dir>_<name>`, with the
/// legend's parameters as `$1…$n` and its result columns as a table. PL/pgSQL, so its plan is kept
/// per session as the Rust edition keeps its prepared statements. The statement is the file's text
/// unchanged: one source for both editions.
pub fn edition_function(file: &str, sql: &str) -> Result<String, String> {
    let t = typed(sql)?;
    if max_parameter(sql) > t.params.len() {
        return Err(format!("{file}: uses a $n beyond its legend"));
    }
    let name = format!("ff_stmt_{}", file.trim_end_matches(".sql").replace('/', "_"));
    let args = t.params.iter().map(|(_, ty)| ty.as_str()).collect::<Vec<_>>().join(", ");
    let body: String = sql.lines().skip_while(|l| l.starts_with("--")).map(|l| format!("{l}\n")).collect();
    let body = body.trim_end();
    let writes = ["INSERT ", "UPDATE ", "DELETE ", "FOR UPDATE"].iter().any(|w| body.contains(w));
    let volatility = if writes { "VOLATILE" } else { "STABLE" };
    let purpose = sql.lines().next().unwrap_or_default().trim_start_matches("-- ");
    let (returns, run) = if t.returns.is_empty() {
        ("void".to_string(), format!("{body};"))
    } else {
        let cols = t.returns.iter().map(|(n, ty)| format!("{n} {ty}")).collect::<Vec<_>>().join(", ");
        (format!("TABLE ({cols})"), format!("RETURN QUERY\n{body};"))
    };
    Ok(format!(
        "-- {file}: {purpose}\nCREATE FUNCTION {name}({args})\nRETURNS {returns}\nLANGUAGE plpgsql {volatility} AS $ff_stmt$\n\
         #variable_conflict use_column\nBEGIN\n{run}\nEND\n$ff_stmt$;\n\
         COMMENT ON FUNCTION {name}({args}) IS 'The statement sql/statements/{file} (internal).';\n"
    ))
}

/// The arguments of a `-- @statement <file>: <args>` line: split at the commas outside parentheses
/// and quoted literals, so that an argument may be a call of several arguments
/// (`coalesce(p_tags, '{}')`) or a literal with a comma; each trimmed.
pub fn split_args(args: &str) -> Vec<&str> {
    let (mut out, mut depth, mut quoted, mut start) = (Vec::new(), 0usize, false, 0);
    for (at, c) in args.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                out.push(args[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    out.push(args[start..].trim());
    out
}

/// The statement `sql` written into a PL/pgSQL body: its text without the leading comment lines (and
/// without the legend lines of fragments further down), every
/// `$n` replaced by `args[n - 1]` (an expression of the body: a variable, a qualified parameter, a
/// literal), each line indented by `indent`. The body runs the Rust edition's statement, not a copy
/// of it, and without the cost of a function call.
pub fn inline_statement(sql: &str, args: &[&str], indent: &str) -> Result<String, String> {
    let declared = parse(sql)?.len();
    if args.len() != declared {
        return Err(format!("the statement declares {declared} parameters, {} given", args.len()));
    }
    let mut out = String::new();
    // Whole-line comments (a fragment's legend and notes) stay in the statement files, which are
    // what to read: the inlined text is the SQL alone.
    for line in sql.lines().filter(|l| !l.trim_start().starts_with("--")) {
        let mut text = String::new();
        let mut rest = line;
        while let Some(at) = rest.find('$') {
            text.push_str(&rest[..at]);
            let digits: String = rest[at + 1..].chars().take_while(char::is_ascii_digit).collect();
            match digits.parse::<usize>() {
                Ok(n) if (1..=args.len()).contains(&n) => text.push_str(args[n - 1]),
                Ok(n) => return Err(format!("${n} is beyond the {} arguments", args.len())),
                Err(_) => text.push('$'),
            }
            rest = &rest[at + 1 + digits.len()..];
        }
        text.push_str(rest);
        out.push_str(indent);
        out.push_str(text.trim_end());
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_is_inlined_with_its_arguments() {
        let sql = "-- W.\n-- $1 k\n-- $2..$3 pair\nUPDATE t SET a = $2, b = $3\nWHERE k = $1 AND c = $10x";
        assert!(inline_statement(sql, &["pk", "x", "y"], "  ").unwrap_err().contains("$10"));
        let sql = "-- W.\n-- $1 k\n-- $2..$3 pair\nUPDATE t SET a = $2, b = $3\nWHERE k = $1 AND c = 'US$'";
        assert_eq!(
            inline_statement(sql, &["pk", "x", "f.y"], "  ").unwrap(),
            "  UPDATE t SET a = x, b = f.y\n  WHERE k = pk AND c = 'US$'\n"
        );
        assert!(inline_statement(sql, &["pk"], "").is_err());
    }

    #[test]
    fn statement_arguments_split_at_top_level_commas() {
        assert_eq!(split_args("pk, id"), ["pk", "id"]);
        assert_eq!(
            split_args(" coalesce(p_tags, '{}'), x.y ,'a,b', f(g(1, 2), 3)"),
            ["coalesce(p_tags, '{}')", "x.y", "'a,b'", "f(g(1, 2), 3)"]
        );
        assert_eq!(split_args("'it''s, here', CASE WHEN a THEN 1 ELSE 2 END"), ["'it''s, here'", "CASE WHEN a THEN 1 ELSE 2 END"]);
        assert_eq!(split_args("one"), ["one"]);
    }

    #[test]
    fn a_typed_statement_becomes_an_edition_function() {
        let sql = "-- Count things.\n-- $1 partition_key smallint\n-- $2 names text[]\n-- returns n bigint, ok boolean\nSELECT count(*) AS n, true AS ok FROM t WHERE k = $1 AND name = ANY ($2)";
        let t = typed(sql).unwrap();
        assert_eq!(t.params, [("partition_key".into(), "smallint".into()), ("names".into(), "text[]".into())]);
        assert_eq!(t.returns, [("n".into(), "bigint".into()), ("ok".into(), "boolean".into())]);
        let f = edition_function("things/count.sql", sql).unwrap();
        assert!(f.contains("CREATE FUNCTION ff_stmt_things_count(smallint, text[])\nRETURNS TABLE (n bigint, ok boolean)"), "{f}");
        assert!(f.contains("LANGUAGE plpgsql STABLE") && f.contains("RETURN QUERY\nSELECT count(*)"), "{f}");
        let write = edition_function("t/w.sql", "-- W.\n-- $1 k smallint\nDELETE FROM t WHERE k = $1").unwrap();
        assert!(write.contains("RETURNS void") && write.contains("VOLATILE") && write.contains("DELETE FROM t WHERE k = $1;"), "{write}");
        assert!(typed("-- $1 k").is_err() && typed("-- $2 k int").is_err());
        assert_eq!(typed("-- $1..$2 states text").unwrap().params.len(), 2);
        assert!(edition_function("t/x.sql", "-- X.\n-- $1 k int\nSELECT $2").is_err());
    }

    const SQL: &str = "-- what it does\n-- $1 partition_key\n-- $2..$4 states (three)\n-- $5 now_ms\n\
                       UPDATE t SET a = $2, b = $3, c = $4, d = $5 WHERE k = $1 -- not $9";

    #[test]
    fn legend_names_each_parameter_in_order() {
        assert_eq!(parse(SQL).unwrap(), ["partition_key", "states", "states", "states", "now_ms"]);
        assert_eq!(max_parameter(SQL), 5);
        check(SQL, &["partition_key", "states", "states", "states", "now_ms"]).unwrap();
    }

    #[test]
    fn a_miscounted_or_renamed_parameter_is_refused() {
        assert!(check(SQL, &["partition_key", "states", "states", "states"]).is_err());
        assert!(check(SQL, &["partition_key", "states", "states", "states", "now"]).is_err());
        assert!(parse("-- $2 a\nSELECT $2").is_err());
        assert!(check("-- $1 a\nSELECT $1, $2", &["a"]).is_err());
    }

    #[test]
    fn dollar_quotes_and_comments_are_not_parameters() {
        assert_eq!(max_parameter("SELECT '$x' -- $7\n, $$body$$, $2"), 2);
    }
}
