//! A crate of one's own on tchlab: `templates/my-experiment`, copied outside this
//! repository with its `path` pointed here, builds with only `tchlab.env`'s `LIBTORCH`
//! and runs without `LD_LIBRARY_PATH`; a crate written from scratch (no build.rs) builds
//! and runs after `source tchlab.env`, as the README says. Both share this crate's build
//! folder, so only the small crate itself is compiled.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `LIBTORCH` as `make setup` wrote it into `tchlab.env`.
fn libtorch() -> Option<String> {
    let env = std::fs::read_to_string(root().join("tchlab.env")).ok()?;
    let line = env.lines().find_map(|l| l.strip_prefix("export LIBTORCH="))?;
    Some(line.trim_matches(|c| c == '"' || c == '\'').to_string())
}

/// This process's environment without what cargo and the test runner set (the variables
/// of cargo's own build, LIBTORCH, LD_LIBRARY_PATH, RUSTFLAGS): a shell of a user's.
fn outside_environment() -> impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)> {
    std::env::vars_os().filter(|(k, _)| {
        let k = k.to_string_lossy();
        !k.starts_with("CARGO") && k != "LIBTORCH" && k != "LD_LIBRARY_PATH" && k != "RUSTFLAGS"
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn the_template_crate_builds_and_trains_outside_the_repository() {
    let Some(libtorch) = libtorch() else {
        assert!(std::env::var("CI").is_err(), "CI runs `make setup`, which writes tchlab.env");
        eprintln!("skipped: no tchlab.env (run `make setup`)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let krate = dir.path().join("my-experiment");
    copy_dir(&root().join("templates/my-experiment"), &krate);
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    let pointed = manifest.replace(r#"path = "../..""#, &format!("path = {:?}", root().display().to_string()));
    assert_ne!(pointed, manifest, "the template's tchlab path was not found");
    std::fs::write(krate.join("Cargo.toml"), pointed).unwrap();
    // The same dependency versions as this crate, so the shared build folder is reused.
    std::fs::copy(root().join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let build = Command::new(&cargo)
        .args(["build", "--quiet", "--offline"])
        .current_dir(&krate)
        .env_clear()
        .envs(outside_environment())
        .env("LIBTORCH", &libtorch)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(build.status.success(), "building the template failed:\n{}", String::from_utf8_lossy(&build.stderr));
    let run = Command::new(target.join("debug/my-experiment"))
        .env("EPOCHS", "3")
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("LIBTORCH")
        .current_dir(&krate)
        .output()
        .unwrap();
    let out = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "{out}");
    assert!(out.contains("750 examples of 2 values, 2 classes"), "{out}");
    assert!(out.contains("History { 3 epochs, train: loss"), "{out}");
    assert!(out.lines().all(|l| l.len() < 300), "a printed history should be one short line:\n{out}");
    assert!(krate.join("accuracy.svg").is_file());
}

/// The README's steps for a crate written from scratch: a `tchlab` path dependency, `source
/// tchlab.env`, `cargo build`, run the binary (which finds libtorch through the
/// `LD_LIBRARY_PATH` that tchlab.env sets, having no rpath of its own).
#[test]
fn a_crate_written_from_scratch_runs_after_sourcing_tchlab_env() {
    if libtorch().is_none() {
        assert!(std::env::var("CI").is_err(), "CI runs `make setup`, which writes tchlab.env");
        eprintln!("skipped: no tchlab.env (run `make setup`)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let krate = dir.path().join("from-scratch");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"from-scratch\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n\
         tchlab = {{ path = {:?} }}\nanyhow = \"1\"\n",
        root().display().to_string()
    );
    std::fs::write(krate.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(
        krate.join("src/main.rs"),
        "use tchlab::prelude::*;\nfn main() -> Result<()> {\n    let t = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);\n    \
         println!(\"sum {}\", t.sum(Kind::Float).double_value(&[]));\n    Ok(())\n}\n",
    )
    .unwrap();
    std::fs::copy(root().join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // Only what tchlab.env sets, as in a user's shell.
    let script = format!(
        "source {:?} && {:?} build --quiet --offline && {:?}",
        root().join("tchlab.env"),
        cargo,
        target.join("debug/from-scratch")
    );
    let run = Command::new("bash")
        .args(["-c", &script])
        .current_dir(&krate)
        .env_clear()
        .envs(outside_environment())
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    let out = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "the README's steps failed for a crate written from scratch:\n{out}");
    assert!(out.contains("sum 6"), "{out}");
}
