//! claimd's public gRPC contract, `claimd.v1`, generated from `proto/` at build time.
//!
//! This crate owns only the wire types: the service and messages district services rely on
//! (DESIGN.md, "API contract") and the encoded descriptor set that server reflection serves.
//! Messages that carry passwords or challenge answers print as redacted in `Debug`.

mod redact;

/// Generated messages, the `AccountService` and `HelpdeskService` servers and clients.
pub mod v1 {
    #![allow(missing_debug_implementations, clippy::all)]
    tonic::include_proto!("claimd.v1");
}

/// The encoded `FileDescriptorSet` of every file in `proto/`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/claimd_descriptor.bin"));

#[cfg(test)]
mod tests {
    use prost::Message;

    #[test]
    fn descriptor_set_decodes_and_names_the_service() {
        let set = prost_types::FileDescriptorSet::decode(super::FILE_DESCRIPTOR_SET).unwrap();
        let file = set
            .file
            .iter()
            .find(|f| f.package() == "claimd.v1")
            .expect("claimd.v1 is in the set");
        assert_eq!(file.service[0].name(), "AccountService");
    }
}
