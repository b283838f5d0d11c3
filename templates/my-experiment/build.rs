//! Lets the binary find libtorch at run time without `LD_LIBRARY_PATH`: an rpath to
//! `$LIBTORCH/lib` (`source tchlab.env` sets `LIBTORCH`).
fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Ok(root) = std::env::var("LIBTORCH") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{root}/lib");
    }
}
