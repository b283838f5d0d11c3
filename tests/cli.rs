//! The `tchlab` binary: files it writes and its exit codes, including bad input.

use std::path::Path;
use std::process::{Command, Output};

fn tchlab(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tchlab"));
    c.args(args).env("TCHLAB_THREADS", "1");
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().expect("running tchlab")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn list_and_doctor() {
    let o = tchlab(&["list"], &[]);
    assert!(o.status.success());
    let t = text(&o);
    for name in [
        "xor",
        "sigmoid-vs-softmax",
        "dead-relu",
        "wide-vs-deep",
        "failure-cases",
        "custom-loader",
        "cats-dogs",
        "hyperparameter-sweep",
    ] {
        assert!(t.contains(name), "list lacks {name}");
    }
    assert!(t.contains("epochs=100") && t.contains("batch=100"));
    let o = tchlab(&["doctor"], &[]);
    assert!(o.status.success());
    let t = text(&o);
    assert!(t.contains("libtorch") && t.contains("2.13.0") && t.contains("cuda") && t.contains("data dir"), "{t}");
}

#[test]
fn run_xor_writes_history_summary_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("xor");
    let o = tchlab(&["run", "xor", "--out", out.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o));
    for f in ["history.csv", "summary.json", "loss.svg", "loss.png", "decision_regions.svg", "decision_regions.png"] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let linear = summary["metrics"]["linear_final_cost"].as_f64().unwrap();
    assert!((linear - 2f64.ln()).abs() < 0.01, "the linear model plateaus at ln 2, got {linear}");
    assert!(summary["metrics"]["relu_final_cost"].as_f64().unwrap() < 0.45);
    assert_eq!(summary["settings"]["epochs"], "25");
    let history = std::fs::read_to_string(out.join("history.csv")).unwrap();
    assert_eq!(history.lines().count(), 1 + 2 * 25);
    assert!(!Path::new(&format!("{}.part", out.display())).exists());
}

#[test]
fn seeds_are_summarised_with_mean_and_spread() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("xor");
    let o = tchlab(&["run", "xor", "--seeds", "1,2", "--epochs", "3", "--out", out.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(out.join("seed-1/history.csv").is_file() && out.join("seed-2/summary.json").is_file());
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let m = &s["metrics"]["relu_final_cost"];
    assert_eq!(m["values"].as_array().unwrap().len(), 2);
    assert!(m["std"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_input_ends_with_a_reason_and_a_nonzero_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run", "nope"], "unknown experiment `nope`"),
        (vec!["run", "xor", "--bogus"], "--bogus"),
        (vec!["run", "xor", "--set", "hiden=3"], "unknown setting `hiden`"),
        (vec!["run", "xor", "--set", "lr"], "not key=value"),
        (vec!["run", "xor", "--set", "lr=fast"], "lr=fast"),
        (vec!["run", "xor", "--device", "cpu"], "--device does not apply"),
        (vec!["run", "xor", "--set", "lr=1e30", "--set", "hidden=2000"], "diverged"),
        (vec!["run", "cats-dogs", "--set", "dir=/nonexistent/photos"], "/nonexistent/photos"),
        (vec!["data", "info", "/nonexistent/folder"], "does not exist"),
        (vec!["data", "fetch", "cifar"], "unknown dataset"),
    ];
    for (args, want) in cases {
        let mut args = args.clone();
        if args[0] == "run" && args.len() > 1 {
            args.extend(["--out", out.to_str().unwrap()]);
        }
        let o = tchlab(&args, &[]);
        let t = text(&o);
        assert!(!o.status.success(), "{args:?} succeeded:\n{t}");
        assert!(t.contains(want), "{args:?}: expected `{want}` in:\n{t}");
        assert!(!out.exists(), "{args:?} left {}", out.display());
        assert!(!Path::new(&format!("{}.part", out.display())).exists(), "{args:?} left a .part folder");
    }
}

#[test]
fn data_fetch_from_a_folder_mirror_and_info() {
    let mirror = tchlab::env::Settings::from_env().mnist_mirrors.first().cloned();
    let Some(mirror) = mirror else {
        assert!(std::env::var("CI").is_err(), "CI sets TCHLAB_MNIST_MIRROR");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mnist");
    let o = tchlab(
        &["data", "fetch", "mnist", "--mirror", &mirror, "--dir", target.to_str().unwrap()],
        &[("TCHLAB_MNIST_MIRROR", "")],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("60000 training and 10000 test images"));
    let o = tchlab(&["data", "info", target.to_str().unwrap()], &[]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("IDX") && t.contains("f68b3c2dcbeaaa9fbdd348bbdeb94873") && t.contains("0:5923"), "{t}");
    // A corrupt copy is reported by name.
    std::fs::write(target.join("t10k-labels-idx1-ubyte.gz"), b"\x1f\x8b\x08junk").unwrap();
    let o = tchlab(&["data", "info", target.to_str().unwrap()], &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("t10k-labels-idx1-ubyte.gz"), "{}", text(&o));
    // The custom layout: export, then inspect.
    let custom = dir.path().join("custom");
    let o = tchlab(
        &["data", "export-custom", "--dir", custom.to_str().unwrap()],
        &[("TCHLAB_DATA_DIR", dir.path().to_str().unwrap()), ("TCHLAB_MNIST_MIRROR", &mirror)],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = tchlab(&["data", "info", custom.to_str().unwrap()], &[]);
    let t = text(&o);
    assert!(o.status.success() && t.contains("custom layout") && t.contains("256 images of shape [1, 28, 28]"), "{t}");
    // A row naming a missing image fails naming the row.
    std::fs::remove_file(custom.join("mnist_test/600.png")).unwrap();
    let o = tchlab(&["data", "info", custom.to_str().unwrap()], &[]);
    assert!(!o.status.success() && text(&o).contains("row 89"), "{}", text(&o));
}
