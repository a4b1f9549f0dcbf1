//! Compiles `proto/` into Rust with `protox` (a pure-Rust protobuf compiler), so a fresh machine
//! builds with no `protoc` installed, and writes the encoded descriptor set that server
//! reflection serves.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "proto/claimd/v1/account.proto",
    "proto/claimd/v1/helpdesk.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("claimd_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        // Requests carrying passwords or answers get a hand-written redacting Debug (src/redact.rs).
        .skip_debug([
            ".claimd.v1.ChallengeAnswer",
            ".claimd.v1.ClaimAccountRequest",
            ".claimd.v1.CompletePasswordResetRequest",
            ".claimd.v1.ChangePasswordRequest",
            ".claimd.v1.UpdateChallengeAnswersRequest",
            ".claimd.v1.UnlockAccountRequest",
            // Helpdesk answers carrying a temporary password or a claim code.
            ".claimd.v1.SetTemporaryPasswordResponse",
            ".claimd.v1.ReissueClaimCodeResponse",
        ])
        .compile_fds(descriptors)?;
    Ok(())
}
