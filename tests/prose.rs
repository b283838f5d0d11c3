//! The prose check, tools/check_prose.py: every result number a notebook's markdown states must
//! be printed by an output of the same notebook; numbers marked as quotes (`*lecture: 97.61 %*`,
//! a table column headed "lecture") are exempt. Its self-test on two small notebooks in
//! tests/prose/; it needs only `python3` (standard library).

use std::path::PathBuf;
use std::process::Command;

/// Runs the checker on tests/prose/`notebook`: (exit status was success, stdout + stderr).
fn check_prose(notebook: &str) -> (bool, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("python3")
        .arg(root.join("tools/check_prose.py"))
        .arg(root.join("tests/prose").join(notebook))
        .current_dir(&root)
        .output()
        .expect("starting python3 tools/check_prose.py");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
fn prose_check_passes_a_notebook_whose_numbers_are_printed_or_quoted() {
    // good.ipynb: printed numbers, results rounded, a marked lecture quote, a lecture table
    // column, a number in inline code, math, a version, integer settings.
    let (ok, text) = check_prose("good.ipynb");
    assert!(ok, "the prose check failed a notebook whose numbers are all printed or quoted:\n{text}");
    assert!(text.contains("ok good.ipynb"), "{text}");
    assert!(!text.contains("is printed by no output"), "{text}");
}

#[test]
fn prose_check_names_every_number_no_output_prints() {
    let (ok, text) = check_prose("bad.ipynb");
    assert!(!ok, "the prose check passed bad.ipynb:\n{text}");
    assert!(text.contains("FAILED bad.ipynb"), "{text}");
    let defects = [
        ("cell 2", "87.20", "a number no output prints (another run's)"),
        ("cell 2", "7.61", "a number printed only inside a longer one, 97.61"),
        ("cell 3", "97.6", "a stale rounding of the printed 97.61"),
        ("cell 3", "6.29", "a lecture number not marked as a quote"),
        ("cell 4", "93.35", "a column headed \"lecture settings\" (our run, not a quote)"),
        ("cell 4", "12.5", "an emphasised span labelled \"ours:\" (not a quote)"),
    ];
    for (cell, number, defect) in defects {
        let problem = format!("{cell}: \"{number}\" is printed by no output of this notebook");
        assert!(text.contains(&problem), "{defect} was not reported as `{problem}`:\n{text}");
    }
    // Nothing else: the printed 97.61 and 2.3700 and the quoted lecture column pass.
    let problems = text.lines().filter(|l| l.trim_start().starts_with("- ")).count();
    assert_eq!(problems, defects.len(), "expected exactly the {} defects:\n{text}", defects.len());
    assert!(!text.contains("\"97.61\""), "{text}");
    assert!(!text.contains("\"2.3700\""), "{text}");
}
