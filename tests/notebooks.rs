//! The notebook checks: the runner's self-test (a notebook with a panic, an error, or
//! an error printed after its cell finished must fail) and every lecture notebook through the project kernel. `make test`
//! runs them with `--ignored` after `make setup`; they need the venv and evcxr.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_notebooks(notebooks: &[PathBuf], out: &Path) -> (bool, String) {
    run_notebooks_with(notebooks, out, None)
}

/// The runner on `notebooks`, checking them against `targets` (default: notebooks/targets.json).
fn run_notebooks_with(notebooks: &[PathBuf], out: &Path, targets: Option<&Path>) -> (bool, String) {
    let python = root().join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: run `make setup` first", python.display());
    let targets: Vec<&std::ffi::OsStr> = targets.map(|t| vec!["--targets".as_ref(), t.as_os_str()]).unwrap_or_default();
    let output = Command::new(python)
        .arg(root().join("tools/run_notebooks.py"))
        .arg("--out")
        .arg(out)
        .args(targets)
        .args(notebooks)
        .current_dir(root())
        .output()
        .expect("starting the notebook runner");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
#[ignore = "starts a Jupyter kernel; `make test` runs it after `make setup`"]
fn runner_fails_on_a_panic_and_on_an_error() {
    let dir = root().join("tests/notebooks");
    let notebooks = [dir.join("panics.ipynb"), dir.join("error.ipynb"), dir.join("late-error.ipynb")];
    let (ok, text) = run_notebooks(&notebooks, &root().join("target/notebooks-selftest"));
    println!("{text}");
    assert!(!ok, "the runner passed notebooks that panic / fail:\n{text}");
    assert!(text.contains("FAILED panics.ipynb"), "{text}");
    assert!(text.contains("panic"), "the panic was not reported:\n{text}");
    assert!(text.contains("FAILED error.ipynb"), "{text}");
    assert!(text.contains("error (stderr): No such file or directory"), "the cell's Err was not reported:\n{text}");
    // evcxr forwards stderr from another thread: a line that arrives after the cell
    // went idle must still fail the notebook.
    assert!(text.contains("FAILED late-error.ipynb"), "{text}");
    assert!(
        text.contains("error (stderr): late error: reported after the cell went idle"),
        "the late stderr line was not reported:\n{text}"
    );
    assert!(text.contains("0 passed, 3 failed"), "{text}");
}

/// What a reader must not see fails once per cell (a bare `()`, a figure and a table as
/// Debug text, an absolute path of the machine); figures and tables built from a moved
/// variable show as themselves, and a cell ending in a loop shows no `()`.
#[test]
#[ignore = "starts a Jupyter kernel; `make test` runs it after `make setup`"]
fn runner_fails_on_what_a_reader_should_not_see() {
    let dir = root().join("tests/notebooks");
    let notebooks = [dir.join("shown-defects.ipynb"), dir.join("shown-values.ipynb")];
    let (ok, text) = run_notebooks(&notebooks, &root().join("target/notebooks-selftest-shown"));
    println!("{text}");
    assert!(!ok, "{text}");
    assert!(text.contains("FAILED shown-defects.ipynb"), "{text}");
    for expected in [
        "cell 1: shows a bare `()`",
        "cell 2: shows a Figure as Debug text (Figure(\"\", 1040×460))",
        "cell 3: shows an absolute path of this machine",
    ] {
        assert!(text.contains(expected), "`{expected}` was not reported:\n{text}");
    }
    // The table printed in cell 2 is the same kind of problem in the same cell: reported once.
    assert_eq!(text.matches("cell 2:").count(), 1, "{text}");
    assert!(
        text.contains("ok     shown-values.ipynb"),
        "a figure or table from a moved variable did not show:\n{text}"
    );
    let shown: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("target/notebooks-selftest-shown/summary.json")).expect("summary.json"),
    )
    .expect("summary JSON");
    assert_eq!(shown["shown-values"]["figures"], 1, "{text}");
}

/// Every tchlab type with an inline display is one the runner recognises in Debug form.
#[test]
fn runner_knows_every_displayable_type() {
    let runner = std::fs::read_to_string(root().join("tools/run_notebooks.py")).expect("the runner");
    let listed = runner.lines().find(|l| l.starts_with("DISPLAYABLE = ")).expect("DISPLAYABLE in the runner");
    let mut found = Vec::new();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let mut current = None;
            for line in text.lines() {
                if let Some(rest) = line.strip_prefix("impl ") {
                    current = rest.split([' ', '<', '{']).next().map(str::to_string);
                }
                if line.contains("pub fn evcxr_display(&self)") {
                    found.push(
                        current
                            .clone()
                            .unwrap_or_else(|| panic!("evcxr_display outside an impl in {}", path.display())),
                    );
                }
            }
        }
    }
    assert!(found.len() >= 4, "expected Figure, Table, History and Report, found {found:?}");
    for ty in found {
        assert!(listed.contains(&format!("\"{ty}\"")), "{ty} has an inline display but the runner's {listed}");
    }
}

#[test]
#[ignore = "runs every lecture notebook (tens of minutes); `make test` runs it"]
fn lecture_notebooks_run_clean() {
    let mut notebooks: Vec<PathBuf> = std::fs::read_dir(root().join("notebooks"))
        .expect("notebooks/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    notebooks.sort();
    assert!(notebooks.len() >= 10, "expected the setup notebook and nine lecture notebooks, found {}", notebooks.len());
    let start = std::time::Instant::now();
    let (ok, text) = run_notebooks(&notebooks, &root().join("target/notebooks"));
    println!("{text}");
    println!("[make test] notebooks              {:4.0}s", start.elapsed().as_secs_f64());
    assert!(ok, "some notebooks failed:\n{text}");
    for experiment in tchlab::experiments::all() {
        cli_reproduces_notebook(experiment.name, experiment.notebook);
    }
}

/// The registry (`tchlab::experiments::all`) is the one list of experiments and their
/// notebooks: each registered notebook exists and uses its experiment's module, and each
/// experiment module a notebook uses is registered with that notebook.
#[test]
fn registry_pairs_every_experiment_with_the_notebook_that_runs_it() {
    let registry = tchlab::experiments::all();
    let notebooks: Vec<(String, Vec<String>)> = std::fs::read_dir(root().join("notebooks"))
        .expect("notebooks/")
        .map(|e| e.expect("a notebook").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable notebook");
            (p.file_stem().unwrap_or_default().to_string_lossy().into_owned(), experiment_modules(&text))
        })
        .collect();
    for e in registry {
        let (_, used) = notebooks
            .iter()
            .find(|(stem, _)| stem == e.notebook)
            .unwrap_or_else(|| panic!("{}: notebook {}.ipynb is missing", e.name, e.notebook));
        assert!(
            used.iter().any(|m| m == e.module),
            "{} is registered with {} but that notebook never uses tchlab::experiments::{} (it uses {used:?})",
            e.name,
            e.notebook,
            e.module
        );
    }
    for (stem, used) in &notebooks {
        for module in used {
            if let Some(e) = registry.iter().find(|e| e.module == module) {
                assert_eq!(
                    e.notebook, stem,
                    "{stem} uses tchlab::experiments::{module}, registered with {}",
                    e.notebook
                );
            }
        }
    }
}

/// The modules of `tchlab::experiments` that a notebook's text names: `…::xor`,
/// `…::{architecture, loss_landscape}`, `…::smooth_adversarial as sat`.
fn experiment_modules(text: &str) -> Vec<String> {
    let word = |s: &str| s.trim().chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect::<String>();
    let mut modules = Vec::new();
    for piece in text.split("tchlab::experiments::").skip(1) {
        match piece.strip_prefix('{') {
            Some(list) => modules.extend(list.split('}').next().unwrap_or("").split(',').map(word)),
            None => modules.push(word(piece)),
        }
    }
    modules.retain(|m| !m.is_empty());
    modules
}

/// Every number `tchlab run EXPERIMENT` computes (at the settings the notebooks ran
/// with: the CI settings under `TCHLAB_CI=1`) must be what the notebook printed, bit for
/// bit (same code, same seed, same threads).
fn cli_reproduces_notebook(experiment: &str, notebook: &str) {
    let read = |path: &Path| -> serde_json::Value {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let printed = read(&root().join("target/notebooks/summary.json"))[notebook]["results"].clone();
    let printed = printed.as_object().unwrap_or_else(|| panic!("no RESULT lines from {notebook}"));
    let out = root().join("target/cli").join(experiment);
    let _ = std::fs::remove_dir_all(&out);
    let start = std::time::Instant::now();
    let ci = std::env::var("TCHLAB_CI").is_ok_and(|v| v != "0");
    let status = Command::new(env!("CARGO_BIN_EXE_tchlab"))
        .args(["run", experiment])
        .args(if ci { &["--ci"][..] } else { &[] })
        .arg("--out")
        .arg(&out)
        .status()
        .expect("running tchlab");
    assert!(status.success(), "tchlab run {experiment} failed");
    let metrics = read(&out.join("summary.json"))["metrics"].clone();
    let metrics = metrics.as_object().unwrap_or_else(|| panic!("summary.json of {experiment} has no metrics"));
    // Every number the experiment computes must be printed by the notebook, bit for bit
    // (the notebook may print more of its own, such as a check of its extra cells).
    let mut compared = 0;
    for (name, value) in metrics {
        let cli = value.as_f64().unwrap_or_else(|| panic!("{name} in summary.json of {experiment} is not a number"));
        let notebook_value = printed
            .get(name)
            .and_then(|v| v.as_f64())
            .unwrap_or_else(|| panic!("{notebook} did not print {name}, which tchlab run {experiment} computes"));
        assert_eq!(cli.to_bits(), notebook_value.to_bits(), "{name}: CLI {cli} vs notebook {notebook_value}");
        compared += 1;
    }
    assert!(compared >= 4, "only {compared} numbers compared");
    println!(
        "[make test] tchlab run {experiment} reproduced {compared} numbers of {notebook} exactly ({:.0}s)",
        start.elapsed().as_secs_f64()
    );
}

#[test]
#[ignore = "starts a Jupyter kernel; `make test` runs it after `make setup`"]
fn relational_targets_and_one_output_per_cell_are_checked() {
    let dir = root().join("tests/notebooks");
    let out = root().join("target/notebooks-selftest-relations");
    let notebooks = [dir.join("relations.ipynb"), dir.join("two-outputs.ipynb")];
    let (ok, text) = run_notebooks_with(&notebooks, &out, Some(&dir.join("targets.json")));
    println!("{text}");
    assert!(!ok, "{text}");
    let problems: Vec<&str> = text.lines().filter(|l| l.trim_start().starts_with("- ")).collect();
    assert_eq!(problems.len(), 5, "expected exactly the four failing targets and the two-output cell:\n{text}");
    assert!(text.contains("FAILED two-outputs.ipynb"), "{text}");
    assert!(text.contains("one output holds text/html and image/svg+xml"), "{text}");
    for expected in [
        "RESULT mse - ce=-6.",
        "RESULT last / first=2500",
        "target `ce / zero`: zero is 0, the ratio is undefined",
        "RESULT absent (in the target `ce - absent`) was not printed",
    ] {
        assert!(text.contains(expected), "`{expected}` was not reported:\n{text}");
    }
}

/// The notebooks in the repository carry outputs from a lecture-settings run
/// (`make notebooks`, `make publish`): those outputs must come from the current code
/// cells, meet the targets, and leave out the cells tagged `local-only-output`. A copy
/// with one code cell edited, and one with outputs in a local-only cell, must fail.
#[test]
#[ignore = "needs the venv; `make test` runs it after `make setup`"]
fn published_notebooks_carry_current_outputs() {
    let python = root().join(".venv/bin/python");
    let check = |paths: &[PathBuf]| {
        let out = Command::new(&python)
            .arg(root().join("tools/publish_notebooks.py"))
            .arg("--check")
            .args(paths)
            .current_dir(root())
            .output()
            .expect("starting publish_notebooks.py");
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    let (ok, text) = check(&[]);
    println!("{text}");
    assert!(ok, "the published notebooks are stale or miss a target:\n{text}");
    // A published notebook, edited.
    let published = root().join("notebooks/08-custom-data-loader.ipynb");
    let original = std::fs::read_to_string(&published).expect("notebook 08");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let copy = dir.path().join("08-custom-data-loader.ipynb");
    let edited = original.replacen("DataLoader::new(train.clone(), 30)", "DataLoader::new(train.clone(), 31)", 1);
    assert_ne!(edited, original, "the cell this test edits is gone from notebook 08");
    std::fs::write(&copy, edited).expect("writing the copy");
    let (ok, text) = check(std::slice::from_ref(&copy));
    assert!(!ok && text.contains("code cells changed since its outputs were made"), "{text}");
    // Outputs in a cell tagged local-only-output.
    let mut nb: serde_json::Value = serde_json::from_str(&original).expect("notebook JSON");
    let cell = nb["cells"]
        .as_array_mut()
        .and_then(|cells| cells.iter_mut().find(|c| c["outputs"].as_array().is_some_and(|o| !o.is_empty())))
        .expect("a cell with outputs");
    cell["metadata"]["tags"] = serde_json::json!(["local-only-output"]);
    std::fs::write(&copy, serde_json::to_string(&nb).expect("JSON")).expect("writing the copy");
    let (ok, text) = check(std::slice::from_ref(&copy));
    assert!(!ok && text.contains("is tagged local-only-output but carries outputs"), "{text}");
    // A sentence quoting a number that no output of the run prints (another run's).
    let mut nb: serde_json::Value = serde_json::from_str(&original).expect("notebook JSON");
    let cell = nb["cells"]
        .as_array_mut()
        .and_then(|cells| cells.iter_mut().find(|c| c["cell_type"] == "markdown"))
        .expect("a markdown cell");
    cell["source"] = serde_json::json!("The test accuracy was 12.3456 % in another run.");
    std::fs::write(&copy, serde_json::to_string(&nb).expect("JSON")).expect("writing the copy");
    let (ok, text) = check(&[copy]);
    assert!(!ok && text.contains("prose: cell") && text.contains("12.3456"), "{text}");
}
