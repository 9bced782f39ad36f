//! Compiles `proto/keepalived/v1/*.proto` with protox (pure Rust, no `protoc`)
//! and generates the tonic services and prost messages from the result.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest.join("../../proto");
    let files = ["common", "vrrp", "ipvs", "health", "notifier"]
        .map(|name| proto_root.join(format!("keepalived/v1/{name}.proto")));
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let descriptors = protox::compile(&files, [&proto_root])?;

    // The encoded descriptor set serves gRPC reflection (v1 and v1alpha).
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("keepalived_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
