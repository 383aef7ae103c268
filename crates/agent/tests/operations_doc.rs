//! `docs/operations.md` lists every flag the agent takes, each with its environment variable:
//! the flags table is read against what `dockscope-agent --help` prints, both ways (a flag
//! added to the agent but not to the table fails, and so does a row for a flag that is gone).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// A flag and its environment variable, as `--help` prints them.
#[derive(Debug)]
struct HelpFlag {
    /// `--listen`, or `-h` for a short-only spelling.
    names: Vec<String>,
    env: Option<String>,
}

/// The flags of `--help` (long form): each option line, then its `[env: NAME=…]` line.
fn help_flags(help: &str) -> Vec<HelpFlag> {
    let mut flags: Vec<HelpFlag> = Vec::new();
    for line in help.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('-') && line.starts_with("  ") && !line.starts_with("          ") {
            let names = trimmed
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|w| w.starts_with('-'))
                .map(str::to_owned)
                .collect();
            flags.push(HelpFlag { names, env: None });
        } else if let Some(rest) = trimmed.strip_prefix("[env: ") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            flags.last_mut().expect("an [env:] line follows a flag").env = Some(name);
        }
    }
    flags
}

/// The first cell of each row of the doc's flags table (rows that start with a flag).
fn table_rows(doc: &str) -> Vec<(String, String)> {
    doc.lines()
        .filter(|l| l.starts_with("| `-"))
        .map(|l| {
            let first = l
                .trim_start_matches('|')
                .split('|')
                .next()
                .unwrap_or_default();
            (first.to_owned(), l.to_owned())
        })
        .collect()
}

/// The flags named in a table cell: each `` `--name …` `` or `` `-x` ``.
fn cell_flags(cell: &str) -> BTreeSet<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|code| code.split_whitespace().next())
        .filter(|w| w.starts_with('-'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn operations_doc_lists_every_flag_and_its_environment_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_dockscope-agent"))
        .arg("--help")
        .output()
        .expect("run dockscope-agent --help");
    assert!(output.status.success(), "--help failed: {output:?}");
    let help = String::from_utf8(output.stdout).unwrap();
    let flags = help_flags(&help);
    assert!(
        flags.len() >= 10
            && flags
                .iter()
                .any(|f| f.names.contains(&"--listen".to_owned())),
        "could not read the flags from --help:\n{help}"
    );

    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/operations.md");
    let doc = std::fs::read_to_string(&doc_path).expect("read docs/operations.md");
    let rows = table_rows(&doc);
    let mut missing = Vec::new();
    for flag in &flags {
        for name in &flag.names {
            match rows
                .iter()
                .find(|(cell, _)| cell_flags(cell).contains(name))
            {
                None => missing.push(format!("{name} has no row")),
                Some((_, row)) => {
                    if let Some(env) = &flag.env {
                        if !row.contains(&format!("`{env}`")) {
                            missing.push(format!("{name}'s row does not name `{env}`"));
                        }
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/operations.md's flags table is out of date with --help: {missing:#?}"
    );

    let known: BTreeSet<&String> = flags.iter().flat_map(|f| &f.names).collect();
    let stale: Vec<String> = rows
        .iter()
        .flat_map(|(cell, _)| cell_flags(cell))
        .filter(|name| !known.contains(name))
        .collect();
    assert!(
        stale.is_empty(),
        "docs/operations.md lists flags --help does not know: {stale:?}"
    );
}

#[test]
fn help_parsing_reads_long_and_short_names_and_env() {
    let help = "Usage: x\n\nOptions:\n      --listen <LISTEN>\n          Address\n          \n          \
                [env: DOCKSCOPE_LISTEN=]\n          [default: 0.0.0.0:8080]\n\n      --token <TOKEN>\n          \
                Secret\n          \n          [env: DOCKSCOPE_TOKEN]\n\n  -h, --help\n          Print help\n";
    let flags = help_flags(help);
    let got: Vec<(Vec<String>, Option<String>)> =
        flags.into_iter().map(|f| (f.names, f.env)).collect();
    assert_eq!(
        got,
        vec![
            (vec!["--listen".into()], Some("DOCKSCOPE_LISTEN".into())),
            (vec!["--token".into()], Some("DOCKSCOPE_TOKEN".into())),
            (vec!["-h".into(), "--help".into()], None),
        ]
    );
    assert_eq!(
        cell_flags(" `--max-pending N` / `-V` "),
        BTreeSet::from(["--max-pending".to_owned(), "-V".to_owned()])
    );
}
