//! Checks of SQL arguments that every concept shares: text lengths and page sizes. (A required
//! argument is [`crate::error::required`]; ids are [`crate::ids`].)

use crate::error::{required, WfError, WfResult};

/// Optional text argument: when given, between `min` and `max` bytes.
pub fn bounded_text(value: Option<&str>, field: &str, min: usize, max: usize) -> WfResult<()> {
    match value {
        Some(v) if v.len() < min || v.len() > max => {
            Err(WfError::invalid_input(&format!("invalid_{field}"), format!("{field} must be {min}-{max} bytes")))
        }
        _ => Ok(()),
    }
}

/// Optional short text argument: at most `max` bytes, and non-empty when given.
pub fn optional_text(value: Option<&str>, field: &str, max: usize) -> WfResult<()> {
    bounded_text(value, field, 1, max)
}

/// A required short text argument of 1 to `max` bytes.
pub fn required_text<'a>(value: Option<&'a str>, field: &str, max: usize) -> WfResult<&'a str> {
    let v = required(value, field)?;
    optional_text(Some(v), field, max)?;
    Ok(v)
}

/// `max_rows` of a keyset-paginated listing: 1 to 10 000.
pub fn page_size(max_rows: Option<i32>) -> WfResult<i64> {
    bounded_count(max_rows, "max_rows", 10_000)
}

/// `max_rows` of a scanner task: 1 to 1 000 000.
pub fn batch_size(max_rows: Option<i32>) -> WfResult<i64> {
    bounded_count(max_rows, "max_rows", 1_000_000)
}

fn bounded_count(value: Option<i32>, field: &str, max: i32) -> WfResult<i64> {
    let n = required(value, field)?;
    if !(1..=max).contains(&n) {
        return Err(WfError::invalid_input(&format!("invalid_{field}"), format!("{field} must be between 1 and {max}")));
    }
    Ok(n as i64)
}

/// A byte string of at most `max` bytes: `<field>_too_large` otherwise.
pub fn check_size(len: Option<usize>, max: usize, field: &str) -> WfResult<()> {
    match len {
        Some(n) if n > max => {
            Err(WfError::invalid_input(&format!("{field}_too_large"), format!("{field} is {n} bytes; at most {max} are accepted")))
        }
        _ => Ok(()),
    }
}

/// A `text[]` argument whose elements may not be NULL: `invalid_<field>` when one is.
pub fn text_array(value: Option<Vec<Option<String>>>, field: &str) -> WfResult<Option<Vec<String>>> {
    value
        .map(|v| {
            v.into_iter()
                .collect::<Option<Vec<String>>>()
                .ok_or_else(|| WfError::invalid_input(&format!("invalid_{field}"), format!("{field} must not contain NULL")))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn text_bounds() {
        assert!(optional_text(None, "f", 3).is_ok());
        assert!(optional_text(Some("abc"), "f", 3).is_ok());
        let e = optional_text(Some(""), "f", 3).unwrap_err();
        assert_eq!((e.kind, e.detail.as_deref()), (ErrorKind::InvalidInput, Some("invalid_f")));
        assert!(optional_text(Some("abcd"), "f", 3).is_err());
        assert!(bounded_text(Some(""), "f", 0, 3).is_ok());
        assert_eq!(required_text(Some("x"), "f", 3).unwrap(), "x");
        assert!(required_text(None, "f", 3).is_err());
    }

    #[test]
    fn text_arrays_refuse_null_elements() {
        assert_eq!(text_array(None, "capabilities").unwrap(), None);
        assert_eq!(text_array(Some(vec![Some("a".into())]), "capabilities").unwrap(), Some(vec!["a".to_string()]));
        let e = text_array(Some(vec![Some("a".into()), None]), "capabilities").unwrap_err();
        assert_eq!(e.detail.as_deref(), Some("invalid_capabilities"));
    }

    #[test]
    fn page_and_batch_sizes() {
        assert_eq!(page_size(Some(100)).unwrap(), 100);
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(10_001)).is_err());
        assert!(page_size(None).is_err());
        assert_eq!(batch_size(Some(1_000_000)).unwrap(), 1_000_000);
        assert!(batch_size(Some(1_000_001)).is_err());
    }
}
