//! Compiles `proto/vtrack.proto` into Rust with prost, without a system `protoc`:
//! `protox` parses the file into a descriptor set and `prost-build` generates the code.

use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(["vtrack.proto"], ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
