//! Rewrites `docs/protocol.schema.json` from the protocol types, after a deliberate (additive)
//! change: `cargo run -p dockscope-protocol --example write_schema`. The test suite never runs
//! this; `tests/schema.rs` only compares, so a stale schema always fails CI.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/protocol.schema.json");
    match std::fs::write(&path, dockscope_protocol::json_schema()) {
        Ok(()) => {
            println!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
