//! Gives the crate's binaries, tests and examples an rpath to libtorch so that they
//! run without `LD_LIBRARY_PATH`. `LIBTORCH` comes from `.cargo/config.toml`, which
//! `make setup` writes (or from the environment, for an existing libtorch).
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-changed=build.rs");
    if let Ok(root) = std::env::var("LIBTORCH") {
        let lib = Path::new(&root).join("lib");
        if lib.is_dir() {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        }
    }
}
