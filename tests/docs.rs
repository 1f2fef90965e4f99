//! The documentation cannot drift from the extension: every `ff_*` function the installed extension
//! defines has a COMMENT, a row in the README's API table, and its exact signature in docs/api.md,
//! which this test writes (`FF_WRITE_DOCS=1 cargo test -p ff-engine-tests --test docs`) and otherwise
//! compares.

use ff_engine_tests::*;
use std::path::PathBuf;

fn repo_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(name)
}

/// (name, arguments, result, comment, roles) of every ff_ function, by name then arguments.
fn functions(c: &mut postgres::Client) -> Vec<(String, String, String, Option<String>, String)> {
    c.query(
        &format!(
            "SELECT p.proname::text, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), obj_description(p.oid, 'pg_proc'),
                coalesce((SELECT string_agg(r.rolname, ', ' ORDER BY r.rolname) FROM pg_roles r
                          WHERE r.rolname IN ('ff_admin', 'ff_worker', 'ff_signaler') AND has_function_privilege(r.oid, p.oid, 'EXECUTE')), '')
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE p.proname LIKE 'ff\\_%' AND n.nspname = current_schema() AND NOT {IS_INTERNAL}
         ORDER BY 1, 2"
        ),
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
    .collect()
}

fn api_markdown(fns: &[(String, String, String, Option<String>, String)]) -> String {
    let mut out = String::from(
        "# API reference\n\nEvery SQL function of ff_engine with its exact signature, defaults, result and the API roles that may \
         call it, as the installed extension defines them (written by `tests/docs.rs`, which fails when this file and the \
         extension differ; regenerate with `FF_WRITE_DOCS=1 cargo test -p ff-engine-tests --test docs`). Errors: \
         [errors.md](errors.md); what the functions do: [semantics.md](semantics.md) and the README.\n",
    );
    for (name, args, result, comment, roles) in fns {
        out.push_str(&format!(
            "\n## `{name}`\n\n{}\n\n```sql\n{name}({args})\nRETURNS {result}\n```\n\nRoles: {}.\n",
            comment.as_deref().unwrap_or(""),
            if roles.is_empty() { "none (owner only)" } else { roles }
        ));
    }
    out
}

#[test]
fn every_function_is_commented_documented_and_in_the_readme() {
    let db = Cluster::shared().fresh_db("docs");
    let mut c = db.connect();
    let fns = functions(&mut c);
    assert!(fns.len() >= 30, "found {} functions", fns.len());
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    for (name, _, _, comment, _) in &fns {
        assert!(comment.as_deref().is_some_and(|c| !c.is_empty()), "{name} has no COMMENT");
        let in_table = readme.lines().any(|l| l.starts_with('|') && (l.contains(&format!("`{name}(")) || l.contains(&format!("`{name}`"))));
        assert!(in_table, "{name} is not in the README's API table");
    }
    let expected = api_markdown(&fns);
    let path = repo_file("docs/api.md");
    if std::env::var_os("FF_WRITE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(actual == expected, "docs/api.md differs from the extension; regenerate it with FF_WRITE_DOCS=1 (see tests/docs.rs)");
}
