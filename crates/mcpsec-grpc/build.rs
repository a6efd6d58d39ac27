//! Generates the gRPC code from `proto/` with the protoc shipped by protoc-bin-vendored,
//! so no system protoc is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .build_client(true)
        .file_descriptor_set_path(out.join("mcpsec_descriptor.bin"))
        .compile_with_config(
            config,
            &[
                "../../proto/mcpsec/v1/events.proto",
                "../../proto/mcpsec/v1/alerts.proto",
            ],
            &["../../proto"],
        )?;
    println!("cargo:rerun-if-changed=../../proto");
    Ok(())
}
