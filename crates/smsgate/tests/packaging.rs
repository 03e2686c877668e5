//! The packaging under deploy/ and at the root: the systemd unit (checked
//! by systemd-analyze against the binary built here), the Debian package's
//! metadata (every asset it names exists; `cargo deb` builds it where
//! cargo-deb is installed) and the Dockerfile (built where a Docker daemon
//! answers). A tool that is missing skips its part, loudly.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Says, past the test harness's capture, that a part was not tried.
fn skipped(what: &str, why: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "\n======== packaging: {what} skipped: {why} ========\n"
    );
}

fn works(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn the_systemd_unit_verifies_and_runs_serve_with_the_data_and_config_directories() {
    let unit = std::fs::read_to_string(root().join("deploy/smsgate.service")).expect("unit");
    assert!(
        unit.contains(
            "ExecStart=/usr/bin/smsgate --data-dir /var/lib/smsgate serve --config /etc/smsgate/smsgate.toml"
        ),
        "{unit}"
    );
    for hardening in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "User=smsgate",
        "StateDirectory=smsgate",
    ] {
        assert!(unit.contains(hardening), "{hardening} missing");
    }
    if !works("systemd-analyze", &["--version"]) {
        skipped("systemd-analyze verify", "systemd-analyze is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let here = dir.path().join("smsgate.service");
    std::fs::write(
        &here,
        unit.replace("/usr/bin/smsgate", env!("CARGO_BIN_EXE_smsgate")),
    )
    .expect("written");
    let out = Command::new("systemd-analyze")
        // The man page is installed by the package, not here.
        .args(["verify", "--man=no"])
        .arg(&here)
        .output()
        .expect("systemd-analyze runs");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !said.contains("smsgate.service:"),
        "{said}"
    );
}

#[test]
fn the_debian_package_names_only_files_that_exist_and_builds_where_cargo_deb_is() {
    let manifest: toml::Table = toml::from_str(
        &std::fs::read_to_string(root().join("crates/smsgate/Cargo.toml")).expect("manifest"),
    )
    .expect("TOML");
    let deb = &manifest["package"]["metadata"]["deb"];
    let crate_dir = root().join("crates/smsgate");
    for asset in deb["assets"].as_array().expect("assets") {
        let source = asset[0].as_str().expect("a source path");
        if source.starts_with("target/") {
            continue;
        }
        assert!(crate_dir.join(source).exists(), "{source} is missing");
    }
    let scripts = crate_dir.join(deb["maintainer-scripts"].as_str().expect("scripts"));
    assert!(scripts.join("postinst").exists());
    assert!(works(
        "sh",
        &["-n", &scripts.join("postinst").to_string_lossy()]
    ));
    if !works("cargo", &["deb", "--version"]) {
        skipped(
            "cargo deb",
            "cargo-deb is not installed (cargo install cargo-deb)",
        );
        return;
    }
    let out = Command::new("cargo")
        .current_dir(root())
        .args(["deb", "-p", "smsgate", "--no-build"])
        .output()
        .expect("cargo deb runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_dockerfile_builds_a_non_root_image_where_a_docker_daemon_answers() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    assert!(dockerfile.contains("AS build"), "multi-stage");
    assert!(dockerfile.contains("USER smsgate") && dockerfile.contains("VOLUME /var/lib/smsgate"));
    if !works("docker", &["info"]) {
        skipped("docker build", "no Docker daemon answers");
        return;
    }
    let out = Command::new("docker")
        .current_dir(root())
        .args(["build", "-t", "smsgate-test", "."])
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
