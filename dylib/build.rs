//! Exports torch-sys's C functions from the shared library: rustc's own version script
//! hides every symbol that is not Rust, while tch's generic and inline functions, compiled
//! into the cells, call torch-sys's C API (compiled into this library from torch-sys's C++
//! wrapper) directly. A second version script for the linker exports them. Shared by
//! `tchlab-dylib` and `tchlab-dylib-polars`; `tests/dylib.rs` checks the list against the
//! functions torch-sys's headers declare.
const EXPORTS: &str = "{ global: at_*; atc_*; atg_*; ati_*; atm_*; ato_*; ats_*; thp_*; get_and_reset_last_err; };\n";

fn main() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let map = out.join("exports.map");
    std::fs::write(&map, EXPORTS).expect("writing the linker's version script into OUT_DIR");
    println!("cargo:rustc-link-arg=-Wl,--version-script={}", map.display());
    // The script itself is tracked by cargo; nothing else in the package feeds it.
    println!("cargo:rerun-if-changed=Cargo.toml");
}
