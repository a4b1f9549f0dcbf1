//! Running an OpenLDAP tool with LDIF on its standard input.

use std::{
    io::Write,
    process::{Command, Stdio},
};

/// Runs `command` with `input` on its standard input and panics with its stderr when it fails.
pub(crate) fn feed(mut command: Command, input: &str) {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("input written");
    let out = child.wait_with_output().expect("the tool ends");
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
