//! Embeds the version (with the git revision when built from a checkout) and re-embeds the
//! dashboard bundle whenever trunk rewrites it.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=../dashboard/dist");
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-env-changed=DOCKSCOPE_GIT_REV");
    let rev = std::env::var("DOCKSCOPE_GIT_REV").ok().or_else(|| {
        Command::new("git")
            .args(["rev-parse", "--short=7", "HEAD"])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .map(|s| s.trim().to_owned())
    });
    let version = match rev {
        Some(rev) if !rev.is_empty() => format!("{} (git {rev})", env!("CARGO_PKG_VERSION")),
        _ => env!("CARGO_PKG_VERSION").to_owned(),
    };
    println!("cargo:rustc-env=DOCKSCOPE_VERSION={version}");
}
