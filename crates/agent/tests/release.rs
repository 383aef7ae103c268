//! What `scripts/release.sh` ships (in `target/release-artifacts/`; `scripts/test.sh` runs it
//! before `cargo test`): the two archives hold exactly the listed files, the same as the
//! checkout's; `SHA256SUMS` verifies; the x86_64 agent unpacked from its archive runs and answers
//! `/healthz`; the aarch64 one runs under qemu; the image archives load into the real engine as
//! amd64 and arm64 images of those binaries. And the changelog's newest release is the version
//! the agent prints and sends.
//!
//! Fails, not skips, when the release output is missing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;
mod ship;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{docker, Agent, Feed};
use dockscope_protocol::Message;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TARGETS: [&str; 2] = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"];
/// Each archive's files besides the binary, and where they come from in the checkout.
const DOCS: [(&str, &str); 5] = [
    ("README.md", "README.md"),
    ("LICENSE", "LICENSE"),
    ("CHANGELOG.md", "CHANGELOG.md"),
    (
        "dockscope-agent.service",
        "deploy/systemd/dockscope-agent.service",
    ),
    ("docker-compose.yml", "deploy/compose/docker-compose.yml"),
];

fn artifacts() -> PathBuf {
    let dir = ship::repo_root().join("target/release-artifacts");
    let sums = dir.join("SHA256SUMS");
    assert!(
        sums.is_file(),
        "{} is missing: run scripts/release.sh (scripts/test.sh runs it before cargo test)",
        sums.display()
    );
    dir
}

fn artifact(name: &str) -> PathBuf {
    let path = artifacts().join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/release.sh for version {VERSION}",
        path.display()
    );
    path
}

fn archive_name(target: &str) -> String {
    format!("dockscope-agent-{VERSION}-{target}")
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ds-release-{}-{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(command: &mut Command) -> String {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `producer | consumer`; panics unless both succeed. Returns the consumer's stdout.
fn pipe(producer: &mut Command, consumer: &mut Command) -> String {
    let mut first = producer.stdout(Stdio::piped()).spawn().unwrap();
    let out = consumer
        .stdin(first.stdout.take().unwrap())
        .output()
        .unwrap();
    let status = first.wait().unwrap();
    assert!(status.success(), "{producer:?} failed ({status})");
    assert!(
        out.status.success(),
        "{consumer:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Unpacks the archive for `target` into `into`; returns its top directory.
fn unpack(target: &str, into: &Path) -> PathBuf {
    let name = archive_name(target);
    let archive = artifact(&format!("{name}.tar.gz"));
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(into));
    into.join(name)
}

#[test]
fn archives_hold_exactly_the_binary_readme_license_changelog_unit_and_compose_file() {
    for target in TARGETS {
        let name = archive_name(target);
        let archive = artifact(&format!("{name}.tar.gz"));
        let listing = run(Command::new("tar").arg("-tzvf").arg(&archive));
        let mut entries = BTreeSet::new();
        for line in listing.lines() {
            let mode = line.split_whitespace().next().unwrap();
            let path = line.split_whitespace().nth(5).unwrap();
            if path == format!("{name}/dockscope-agent") {
                assert_eq!(mode, "-rwxr-xr-x", "the binary is executable: {line}");
            }
            entries.insert(path.trim_end_matches('/').to_owned());
        }
        let mut expected: BTreeSet<String> = DOCS
            .iter()
            .map(|(file, _)| format!("{name}/{file}"))
            .collect();
        expected.insert(name.clone());
        expected.insert(format!("{name}/dockscope-agent"));
        assert_eq!(entries, expected, "{}", archive.display());

        // The files are this checkout's (a stale release fails here: re-run scripts/release.sh).
        let scratch = Scratch::new(&format!("list-{target}"));
        let top = unpack(target, &scratch.0);
        for (file, source) in DOCS {
            assert!(
                std::fs::read(top.join(file)).unwrap()
                    == std::fs::read(ship::repo_root().join(source)).unwrap(),
                "{file} in {} differs from {source}: run scripts/release.sh",
                archive.display()
            );
        }
        let machine = ship::elf_machine(&top.join("dockscope-agent"));
        let want = if target.starts_with("x86_64") {
            ship::EM_X86_64
        } else {
            ship::EM_AARCH64
        };
        assert_eq!(machine, want, "the binary in {name} is for the wrong CPU");
    }
}

#[test]
fn sha256sums_list_every_artifact_and_verify() {
    let dir = artifacts();
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let listed: BTreeSet<&str> = sums
        .lines()
        .map(|l| {
            let (hash, file) = l
                .split_once("  ")
                .unwrap_or_else(|| panic!("bad line {l:?}"));
            assert_eq!(hash.len(), 64, "{l:?}");
            file
        })
        .collect();
    let expected: BTreeSet<String> = TARGETS
        .iter()
        .map(|t| format!("{}.tar.gz", archive_name(t)))
        .chain(["amd64", "arm64"].map(|a| format!("dockscope-agent-{VERSION}-image-{a}.tar.gz")))
        .collect();
    assert_eq!(
        listed,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    let out = Command::new("sha256sum")
        .args(["--strict", "-c", "SHA256SUMS"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sha256sum -c: {report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report.matches(": OK").count(), 4, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_x86_64_agent_from_its_archive_runs_and_answers_healthz() {
    let scratch = Scratch::new("x86_64");
    let top = unpack(TARGETS[0], &scratch.0);
    let bin = top.join("dockscope-agent");
    ship::check_version(&bin);

    let agent = ship::start(
        &bin,
        &["--synthetic-containers", "3", "--serve-ui"],
        Duration::from_secs(10),
    );
    let port = agent.port;
    let (code, body) = common::blocking(move || common::http_get(port, "/healthz")).await;
    assert_eq!(code, 200, "/healthz: {body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok", "{body}");
    assert_eq!(health["version"], format!("v{VERSION}"), "{body}");

    let mut feed = Feed::connect(&agent.url()).await;
    let (batch, _) = feed.next_batch(Duration::from_secs(5)).await;
    assert_eq!(batch.containers.len(), 3, "{batch:?}");
    let (code, page) = common::blocking(move || common::http_get(port, "/")).await;
    assert!(
        code == 200 && page.contains(".wasm"),
        "the dashboard is embedded: {code} {page}"
    );
}

#[test]
fn the_aarch64_agent_from_its_archive_prints_its_version_under_qemu() {
    let scratch = Scratch::new("aarch64");
    let top = unpack(TARGETS[1], &scratch.0);
    ship::check_version(&top.join("dockscope-agent"));
}

/// An image loaded under a tag of this test's own, untagged when dropped (the image itself
/// stays while `scripts/release.sh`'s tag points at it).
struct LoadedImage(String);

impl Drop for LoadedImage {
    fn drop(&mut self) {
        let _ = common::docker_command().args(["rmi", &self.0]).output();
    }
}

/// A created (never started) container, removed when dropped.
struct Created(String);

impl Drop for Created {
    fn drop(&mut self) {
        let _ = common::docker_command()
            .args(["rm", "-f", &self.0])
            .output();
    }
}

#[test]
fn image_archives_load_as_amd64_and_arm64_images_of_the_released_binaries() {
    let mut configs = Vec::new();
    for (arch, target) in [("amd64", TARGETS[0]), ("arm64", TARGETS[1])] {
        let archive = artifact(&format!("dockscope-agent-{VERSION}-image-{arch}.tar.gz"));
        let scratch = Scratch::new(&format!("image-{arch}"));
        let image_dir = scratch.0.join("image");
        std::fs::create_dir(&image_dir).unwrap();
        run(Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&image_dir));

        // It loads as dockscope-agent:<version>-<arch>; load it under a tag of our own instead,
        // so the test neither depends on nor disturbs what that tag means in the engine.
        let manifest_path = image_dir.join("manifest.json");
        let mut manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
        assert_eq!(
            manifest[0]["RepoTags"],
            serde_json::json!([format!("dockscope-agent:{VERSION}-{arch}")]),
            "{}",
            archive.display()
        );
        let tag = format!("dockscope-release-test-{}:{arch}", std::process::id());
        manifest[0]["RepoTags"] = serde_json::json!([tag]);
        std::fs::write(&manifest_path, manifest.to_string()).unwrap();
        let _ = std::fs::remove_file(image_dir.join("repositories"));
        let loaded = pipe(
            Command::new("tar")
                .arg("-C")
                .arg(&image_dir)
                .args(["-cf", "-", "."]),
            common::docker_command().arg("load"),
        );
        let image = LoadedImage(tag.clone());
        assert!(loaded.contains(&tag), "docker load: {loaded}");

        let inspect: serde_json::Value =
            serde_json::from_str(&docker(&["image", "inspect", &image.0])).unwrap();
        let inspect = &inspect[0];
        assert_eq!(inspect["Architecture"], arch, "{tag}");
        assert_eq!(inspect["Os"], "linux", "{tag}");
        assert_eq!(inspect["Config"]["User"], "65534:65534", "{tag}");
        assert_eq!(
            inspect["Config"]["Entrypoint"],
            serde_json::json!(["/dockscope-agent"]),
            "{tag}"
        );
        assert!(
            inspect["Config"]["ExposedPorts"]["8080/tcp"].is_object(),
            "{tag}: {}",
            inspect["Config"]
        );

        // One image for two architectures: the same settings (health check included).
        let config = &inspect["Config"];
        configs.push(
            [
                "User",
                "Entrypoint",
                "Cmd",
                "ExposedPorts",
                "Healthcheck",
                "Env",
            ]
            .map(|key| (key, config[key].clone())),
        );

        // The image's one file is the binary of the matching archive.
        let container = Created(format!("ds-release-test-{}-{arch}", std::process::id()));
        docker(&["create", "--name", &container.0, &image.0]);
        let exported = scratch.0.join("exported");
        std::fs::create_dir(&exported).unwrap();
        pipe(
            common::docker_command().args(["export", &container.0]),
            Command::new("tar")
                .arg("-xf")
                .arg("-")
                .arg("-C")
                .arg(&exported),
        );
        let top = unpack(target, &scratch.0);
        assert!(
            std::fs::read(exported.join("dockscope-agent")).unwrap()
                == std::fs::read(top.join("dockscope-agent")).unwrap(),
            "{tag}: /dockscope-agent is not the binary of {}",
            archive_name(target)
        );
        if arch == "amd64" {
            // This host runs amd64 images: the loaded one starts and prints its version.
            let out = docker(&["run", "--rm", &image.0, "--version"]);
            ship::assert_version_line(&out);
        }
    }
    assert_eq!(
        configs[0], configs[1],
        "amd64 and arm64 image settings differ"
    );
}

/// The newest released version in CHANGELOG.md (Keep a Changelog: `## [x.y.z] - YYYY-MM-DD`,
/// newest first, after `## [Unreleased]`).
fn newest_changelog_release() -> String {
    let text = std::fs::read_to_string(ship::repo_root().join("CHANGELOG.md")).unwrap();
    let headings: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("## ")).collect();
    assert_eq!(
        headings.first().copied(),
        Some("[Unreleased]"),
        "CHANGELOG.md starts with [Unreleased]: {headings:?}"
    );
    let mut releases = Vec::new();
    for heading in &headings[1..] {
        let (version, date) = heading
            .strip_prefix('[')
            .and_then(|h| h.split_once("] - "))
            .unwrap_or_else(|| panic!("CHANGELOG.md heading {heading:?} is not `[x.y.z] - date`"));
        let parts: Vec<u64> = version
            .split('.')
            .map(|p| {
                p.parse()
                    .unwrap_or_else(|_| panic!("version {version:?} is not semver"))
            })
            .collect();
        assert_eq!(parts.len(), 3, "version {version:?} is not x.y.z");
        let d = date.as_bytes();
        assert!(
            d.len() == 10 && d[4] == b'-' && d[7] == b'-',
            "date {date:?} of {version} is not YYYY-MM-DD"
        );
        releases.push((parts, version.to_owned()));
    }
    assert!(!releases.is_empty(), "CHANGELOG.md has no released version");
    assert!(
        releases.windows(2).all(|w| w[0].0 > w[1].0),
        "CHANGELOG.md lists releases newest first: {headings:?}"
    );
    releases.swap_remove(0).1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_changelog_release_is_what_the_agent_prints_and_sends() {
    let newest = newest_changelog_release();
    assert_eq!(
        newest, VERSION,
        "CHANGELOG.md's newest release vs the crate version"
    );
    ship::check_version(Path::new(env!("CARGO_BIN_EXE_dockscope-agent")));

    let agent = Agent::start(&["--synthetic-containers", "1"]);
    let mut feed = Feed::connect(&agent.url()).await;
    let version = feed
        .until(Duration::from_secs(5), "an agent_status", |m, _| match m {
            Message::AgentStatus(s) => Some(s.version.clone()),
            _ => None,
        })
        .await;
    assert_eq!(version, format!("v{newest}"), "agent_status.version");
}
