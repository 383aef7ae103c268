//! Embeds the version and the git revision, and re-embeds the dashboard bundle whenever trunk
//! rewrites it.
//!
//! `DOCKSCOPE_VERSION` is `vMAJOR.MINOR.PATCH` from the crate version (what `agent_status.version`
//! carries); `DOCKSCOPE_REVISION` is the short git hash (from `DOCKSCOPE_GIT_REV` or `git`), or
//! empty when unknown; `DOCKSCOPE_LONG_VERSION` joins the two for people (`--version`).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=../dashboard/dist");
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-env-changed=DOCKSCOPE_GIT_REV");
    let rev = std::env::var("DOCKSCOPE_GIT_REV")
        .ok()
        .or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short=7", "HEAD"])
                .output()
                .ok()
                .filter(|out| out.status.success())
                .and_then(|out| String::from_utf8(out.stdout).ok())
        })
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let version = format!(
        "v{}.{}.{}",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH")
    );
    let long_version = if rev.is_empty() {
        version.clone()
    } else {
        format!("{version} (git {rev})")
    };
    println!("cargo:rustc-env=DOCKSCOPE_VERSION={version}");
    println!("cargo:rustc-env=DOCKSCOPE_REVISION={rev}");
    println!("cargo:rustc-env=DOCKSCOPE_LONG_VERSION={long_version}");
}
