//! No Rust function outside tests runs over 60 lines, from the line of its `fn` to the line of its
//! closing brace, in any crate of the workspace (the extension, the core, the client, the benchmark).
//! A longer function is split along its steps. The SQL functions are held to the same limit in
//! `statement_files.rs`.

use std::path::{Path, PathBuf};

const MAX_LINES: usize = 60;

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of `source` with comments, string and character literals blanked out (line breaks
/// kept), and everything from the first `#[cfg(test)]` on dropped.
fn code_only(source: &str) -> String {
    let source = source.split("#[cfg(test)]").next().unwrap_or("");
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let keep_lines = |s: &[char], out: &mut String| out.extend(s.iter().filter(|c| **c == '\n'));
    while i < chars.len() {
        let rest = &chars[i..];
        let end = if rest.starts_with(&['/', '/']) {
            rest.iter().position(|c| *c == '\n').unwrap_or(rest.len())
        } else if rest.starts_with(&['/', '*']) {
            block_comment_len(rest)
        } else if rest[0] == '"' || (rest[0] == 'r' && matches!(rest.get(1), Some('"' | '#')) && !ident_before(&chars, i)) {
            string_len(rest)
        } else if rest[0] == '\'' {
            char_literal_len(rest)
        } else {
            0
        };
        if end == 0 {
            out.push(rest[0]);
            i += 1;
        } else {
            keep_lines(&rest[..end], &mut out);
            i += end;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

fn block_comment_len(rest: &[char]) -> usize {
    let (mut depth, mut j) = (0, 0);
    while j < rest.len() {
        if rest[j..].starts_with(&['/', '*']) {
            (depth, j) = (depth + 1, j + 2);
        } else if rest[j..].starts_with(&['*', '/']) {
            (depth, j) = (depth - 1, j + 2);
            if depth == 0 {
                return j;
            }
        } else {
            j += 1;
        }
    }
    rest.len()
}

/// A string literal's length: "…" with escapes, or r"…" / r#"…"# raw.
fn string_len(rest: &[char]) -> usize {
    if rest[0] == 'r' {
        let hashes = rest[1..].iter().take_while(|c| **c == '#').count();
        let close: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
        let body = 2 + hashes;
        return rest[body..].windows(close.len()).position(|w| w == close.as_slice()).map_or(rest.len(), |p| body + p + close.len());
    }
    let mut j = 1;
    while j < rest.len() {
        match rest[j] {
            '\\' => j += 2,
            '"' => return j + 1,
            _ => j += 1,
        }
    }
    rest.len()
}

/// A character literal's length ('x', '\n', '\u{..}'); 0 for a lifetime ('a), which stays code.
fn char_literal_len(rest: &[char]) -> usize {
    match (rest.get(1), rest.get(2)) {
        (Some('\\'), _) => rest[2..].iter().position(|c| *c == '\'').map_or(rest.len(), |p| p + 3),
        (Some(_), Some('\'')) => 3,
        _ => 0,
    }
}

/// (name, first line, lines) of every function with a body in `code`.
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let words: Vec<(usize, usize, &str)> = {
        let mut line = 1;
        let mut out = Vec::new();
        let mut start = None;
        for (at, c) in code.char_indices() {
            let word = c.is_alphanumeric() || c == '_';
            match (word, start) {
                (true, None) => start = Some(at),
                (false, Some(s)) => {
                    out.push((line, s, &code[s..at]));
                    start = None;
                }
                _ => {}
            }
            if c == '\n' {
                line += 1;
            }
        }
        out
    };
    let mut found = Vec::new();
    for w in words.windows(2) {
        let ((line, _, kw), (_, name_at, name)) = (w[0], w[1]);
        if kw != "fn" {
            continue;
        }
        let after = &code[name_at..];
        let Some(open) = after.find(['{', ';']).filter(|p| after.as_bytes()[*p] == b'{') else { continue };
        let mut depth = 0;
        for (j, c) in after[open..].char_indices() {
            depth += match c {
                '{' => 1,
                '}' => -1,
                _ => 0,
            };
            if depth == 0 {
                let last = line + code[name_at..name_at + open + j].matches('\n').count();
                found.push((name.to_string(), line, last - line + 1));
                break;
            }
        }
    }
    found
}

#[test]
fn no_rust_function_outside_tests_runs_over_60_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["src", "core/src", "client/src", "bench/src"] {
        rust_sources(&root.join(dir), &mut files);
    }
    files.sort();
    assert!(files.len() > 20, "{files:?}");
    let mut long = Vec::new();
    for path in files {
        let code = code_only(&std::fs::read_to_string(&path).unwrap());
        for (name, line, lines) in functions(&code) {
            if lines > MAX_LINES {
                long.push(format!("{}:{line} {name}: {lines} lines", path.strip_prefix(&root).unwrap_or(&path).display()));
            }
        }
    }
    assert!(long.is_empty(), "functions over {MAX_LINES} lines (split them): {long:#?}");
}

#[test]
fn the_length_check_sees_through_strings_comments_and_nested_blocks() {
    let code = code_only(
        "fn a() {\n    let s = \"}{\";\n    // }\n    /* { /* } */ */\n    let c = '}';\n    if x { y } else { z }\n}\nfn b<'a>(x: &'a str);\nfn c() { r#\"}\"#; }\n#[cfg(test)]\nfn d() {\n}\n",
    );
    assert_eq!(functions(&code), vec![("a".to_string(), 1, 7), ("c".to_string(), 9, 1)]);
}
