//! Compiles `src/model/generator.cpp` (a libtorch random generator the model owns,
//! which tch does not bind) against the libtorch that tch found, and gives the
//! crate's binaries, tests and examples an rpath to that libtorch so that they run
//! without `LD_LIBRARY_PATH`. `LIBTORCH` comes from `.cargo/config.toml`, which
//! `make setup` writes (or from the environment, for an existing libtorch).
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/model/generator.cpp");
    // torch-sys (`links = "tch"`) says which lib folder it linked; LIBTORCH is the fallback.
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("LIBTORCH").map(|root| Path::new(&root).join("lib")));
    let Ok(lib) = lib else {
        panic!("neither torch-sys nor LIBTORCH says where libtorch is: run `make setup`, or set LIBTORCH")
    };
    let include = lib.parent().map(|root| root.join("include")).filter(|dir| dir.is_dir());
    let Some(include) = include else {
        panic!(
            "libtorch at {} has no include folder next to its lib folder: reinstall it (`make setup`)",
            lib.display()
        )
    };
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned());
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(&include)
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .file("src/model/generator.cpp")
        .compile("tchlab_generator");
    if lib.is_dir() {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    }
}
