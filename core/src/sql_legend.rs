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

#[cfg(test)]
mod tests {
    use super::*;

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
