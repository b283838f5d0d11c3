//! The notebook dylib exports every C function of torch-sys that a cell's inlined tch
//! code may call: the linker version script in `dylib/build.rs` is checked against the
//! functions torch-sys's headers declare.

use std::path::PathBuf;
use std::process::Command;

/// torch-sys's source folder, from `cargo metadata`.
fn torch_sys_dir() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo metadata");
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let manifest = packages
        .iter()
        .find(|p| p["name"] == "torch-sys")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("torch-sys among the dependencies");
    PathBuf::from(manifest).parent().expect("torch-sys's folder").to_path_buf()
}

/// The functions a C header declares at the start of a line (`tensor at_add(…);`).
fn declared(header: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in header.lines() {
        let Some(open) = line.find('(') else { continue };
        let head = &line[..open];
        // C++ helpers (`std::vector<…> of_carray_tensor(…)`) are not part of the C API.
        if !line.starts_with(|c: char| c.is_ascii_lowercase()) || head.contains(['#', '=', '/', ':']) {
            continue;
        }
        let name = head.rsplit([' ', '*']).next().unwrap_or("");
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && head.len() > name.len() {
            names.push(name.to_string());
        }
    }
    names
}

/// The `global:` patterns of the version script written by `dylib/build.rs`.
fn exported_patterns() -> Vec<String> {
    let build = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dylib/build.rs")).unwrap();
    let script = build.split("global:").nth(1).expect("a `global:` list in dylib/build.rs");
    let list = script.split("};").next().unwrap_or("");
    list.split(';').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

#[test]
fn the_dylib_exports_every_c_function_of_torch_sys() {
    let dir = torch_sys_dir().join("libtch");
    let patterns = exported_patterns();
    let mut names = Vec::new();
    for header in ["torch_api.h", "torch_api_generated.h", "torch_python.h"] {
        let text = std::fs::read_to_string(dir.join(header)).unwrap_or_else(|e| panic!("{header}: {e}"));
        names.extend(declared(&text));
    }
    // `tch_*` are Rust callbacks that the C++ side calls (tch defines them), not C API.
    names.retain(|n| !n.starts_with("tch_"));
    assert!(names.len() > 2000, "found only {} declarations in torch-sys's headers", names.len());
    let missing: Vec<&String> = names.iter().filter(|n| !patterns.iter().any(|p| matches(p, n))).collect();
    assert!(missing.is_empty(), "dylib/build.rs does not export {missing:?}: add their prefix to EXPORTS");
    let unused: Vec<&String> = patterns.iter().filter(|p| !names.iter().any(|n| matches(p, n))).collect();
    assert!(unused.is_empty(), "dylib/build.rs exports {unused:?}, which torch-sys does not declare");
}
