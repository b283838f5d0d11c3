//! Exports torch-sys's C functions from the shared library (rustc's own version script
//! hides every symbol that is not Rust); see exports.map.
fn main() {
    let map = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("exports.map");
    println!("cargo:rustc-link-arg=-Wl,--version-script={}", map.display());
    println!("cargo:rerun-if-changed=exports.map");
}
