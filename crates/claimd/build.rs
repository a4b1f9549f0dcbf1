//! Records the git commit the binary is built from, for `claimd --version`: `git rev-parse`
//! `CLAIMD_GIT_COMMIT` from the environment when a builder sets it (a source tarball), else
//! `git rev-parse` in the checkout, else "unknown".

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CLAIMD_GIT_COMMIT");
    // A new commit or checkout moves HEAD or the ref it names.
    for path in [
        "../../.git/HEAD",
        "../../.git/refs/heads",
        "../../.git/packed-refs",
    ] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    // A builder's own word first (a tarball, a build inside another repository).
    let commit = std::env::var("CLAIMD_GIT_COMMIT")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|out| out.status.success())
                .and_then(|out| String::from_utf8(out.stdout).ok())
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=CLAIMD_GIT_COMMIT={commit}");
}
