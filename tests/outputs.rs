//! Result folders never lose a user's files: `tchlab run --out` and checkpoints refuse
//! folders that are not their own, replace their own only when complete, survive
//! concurrent writers, panics and signals; settings that used to panic are errors.
//! Every `tchlab` process runs under a memory cap, so that a regression fails rather
//! than swapping.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Private memory a `tchlab` process may map (libtorch's own mappings are file-backed
/// and not counted).
const MEMORY_CAP: u64 = 2 << 30;

fn command(args: &[&str], cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tchlab"));
    c.args(args).current_dir(cwd).env("TCHLAB_THREADS", "1");
    // SAFETY: setrlimit is async-signal-safe and only affects the child.
    unsafe {
        c.pre_exec(|| {
            let cap = libc::rlimit { rlim_cur: MEMORY_CAP, rlim_max: MEMORY_CAP };
            if libc::setrlimit(libc::RLIMIT_DATA, &cap) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    c
}

fn tchlab(args: &[&str], cwd: &Path) -> Output {
    command(args, cwd).output().expect("running tchlab")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn fails_with(o: &Output, want: &str) -> String {
    let t = text(o);
    assert!(!o.status.success(), "expected a failure with `{want}`, but it succeeded:\n{t}");
    assert!(t.contains(want), "expected `{want}` in:\n{t}");
    assert!(!t.contains("panicked"), "a panic:\n{t}");
    t
}

/// Every file under `dir`, relative to it, sorted.
fn tree(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = rel.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, Path::new(""), &mut out);
    out.sort();
    out
}

/// Names beside `out` that tchlab uses while writing it.
fn leftovers(out: &Path) -> Vec<String> {
    let name = out.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{name}.")) || n.ends_with(".part"))
        .collect()
}

const QUICK: [&str; 4] = ["--epochs", "2", "--set", "grid_step=0.5"];

fn run_xor(out: &str, cwd: &Path) -> Output {
    let mut args = vec!["run", "xor", "--out", out];
    args.extend(QUICK);
    tchlab(&args, cwd)
}

#[test]
fn dot_dotdot_and_folders_holding_the_current_one_are_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().join("work/project");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::write(cwd.join("notes.txt"), "mine").unwrap();
    std::fs::write(dir.path().join("work/other.txt"), "mine too").unwrap();
    let before = tree(dir.path());
    for (out, why) in [
        (".", "the current folder"),
        ("./", "the current folder"),
        ("..", "a parent folder"),
        ("../", "a parent folder"),
        ("sub/..", "a parent folder"),
        ("/", "refusing"),
    ] {
        let clock = Instant::now();
        let o = run_xor(out, &cwd);
        let t = fails_with(&o, why);
        assert!(!t.contains("epoch"), "--out {out}: refused only after training:\n{t}");
        assert!(clock.elapsed() < Duration::from_secs(20), "--out {out} took {:?}", clock.elapsed());
    }
    let o = run_xor(dir.path().join("work").to_str().unwrap(), &cwd);
    fails_with(&o, "contains the current folder");
    let o = run_xor("../../work", &cwd);
    fails_with(&o, "contains the current folder");
    assert_eq!(tree(dir.path()), before, "a refused run changed the files");
}

#[test]
fn a_folder_of_other_files_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    std::fs::create_dir_all(out.join("deep")).unwrap();
    std::fs::write(out.join("thesis.tex"), "years of work").unwrap();
    std::fs::write(out.join("deep/data.csv"), "1,2").unwrap();
    let before = tree(&out);
    let o = run_xor(out.to_str().unwrap(), dir.path());
    let t = fails_with(&o, "is not a tchlab result");
    assert!(!t.contains("epoch"), "refused only after training:\n{t}");
    assert_eq!(tree(&out), before);
    assert_eq!(std::fs::read_to_string(out.join("thesis.tex")).unwrap(), "years of work");
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    // A file, too, is left alone.
    let file = dir.path().join("file.txt");
    std::fs::write(&file, "keep").unwrap();
    fails_with(&run_xor(file.to_str().unwrap(), dir.path()), "is not a folder");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
}

#[test]
fn a_previous_result_is_replaced_and_a_trailing_slash_is_the_same_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("prev");
    let o = run_xor("prev/", dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let first = tree(&out);
    assert!(first.contains(&PathBuf::from("summary.json")) && first.contains(&PathBuf::from(".tchlab-result")));
    std::fs::write(out.join("summary.json"), "stale").unwrap();
    let o = run_xor("prev//", dir.path());
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(tree(&out), first, "the second run wrote a different set of files");
    assert!(std::fs::read_to_string(out.join("summary.json")).unwrap().contains("\"experiment\""));
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    // A file added to a result makes it the user's: no longer replaced.
    std::fs::write(out.join("my-notes.md"), "keep").unwrap();
    fails_with(&run_xor("prev", dir.path()), "my-notes.md");
    assert_eq!(std::fs::read_to_string(out.join("my-notes.md")).unwrap(), "keep");
    // A checkpoint is a result of another kind: a run does not replace it.
    std::fs::remove_file(out.join("my-notes.md")).unwrap();
    let marker = std::fs::read_to_string(out.join(".tchlab-result")).unwrap();
    std::fs::write(out.join(".tchlab-result"), marker.replacen("run", "checkpoint", 1)).unwrap();
    fails_with(&run_xor("prev", dir.path()), "not a run result");
}

#[test]
fn concurrent_runs_into_one_folder_give_one_result_and_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shared");
    let lock = dir.path().join(".shared.tchlab-lock");
    let mut first =
        command(&["run", "xor", "--out", "shared", "--epochs", "20000", "--set", "grid_step=0.5"], dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    wait_for(&lock, &mut first);
    let second = run_xor("shared", dir.path());
    fails_with(&second, "another tchlab process is writing");
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"epochs\": \"20000\""), "the result is not the first run's:\n{summary}");
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    // Both at once, many times: always exactly one complete result.
    for round in 0..3 {
        let spawn = || command(&["run", "xor", "--out", "race", "--epochs", "2"], dir.path()).output();
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(spawn);
            let b = spawn();
            (a.join().unwrap().unwrap(), b.unwrap())
        });
        let ok = [&a, &b].iter().filter(|o| o.status.success()).count();
        assert!(ok >= 1, "round {round}: both failed:\n{}\n{}", text(&a), text(&b));
        for o in [&a, &b] {
            if !o.status.success() {
                fails_with(o, "another tchlab process is writing");
            }
        }
        let files = tree(&dir.path().join("race"));
        assert!(
            files.contains(&PathBuf::from("summary.json")) && files.contains(&PathBuf::from("loss.png")),
            "{files:?}"
        );
        assert!(leftovers(&dir.path().join("race")).is_empty());
    }
}

/// Waits until `path` exists (the child took its lock or made its folder).
fn wait_for(path: &Path, child: &mut Child) {
    let clock = Instant::now();
    while !path.exists() {
        assert!(child.try_wait().unwrap().is_none(), "tchlab ended before {} appeared", path.display());
        assert!(clock.elapsed() < Duration::from_secs(60), "{} did not appear", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn tmp_of(out: &Path, pid: u32) -> PathBuf {
    out.with_file_name(format!(".{}.tchlab-tmp-{pid}", out.file_name().unwrap().to_string_lossy()))
}

#[test]
fn an_interrupted_run_leaves_the_previous_result_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("res");
    assert!(run_xor("res", dir.path()).status.success());
    let before = tree(&out);
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let mut child = command(&["run", "xor", "--out", "res", "--epochs", "100000"], dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for(&tmp_of(&out, child.id()), &mut child);
        std::thread::sleep(Duration::from_millis(300));
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(128 + signal), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains("stopped by signal"));
        assert_eq!(tree(&out), before);
        assert_eq!(std::fs::read_to_string(out.join("summary.json")).unwrap(), summary);
        assert!(leftovers(&out).is_empty(), "signal {signal} left {:?}", leftovers(&out));
    }
    // SIGKILL cannot be caught: what it leaves is hidden, has no marker, and the next
    // run removes it.
    let mut child = command(&["run", "xor", "--out", "res", "--epochs", "100000"], dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let tmp = tmp_of(&out, child.id());
    wait_for(&tmp, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(tmp.is_dir() && !tmp.join(".tchlab-result").exists());
    assert_eq!(tree(&out), before);
    assert!(run_xor("res", dir.path()).status.success());
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
}

#[test]
fn settings_that_used_to_panic_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--epochs", "0"], "at least one epoch"),
        (vec!["--set", "grid_step=0"], "grid step 0 must be a positive number"),
        (vec!["--set", "grid_step=-1"], "must be a positive number"),
        (vec!["--set", "grid_step=1e-4"], "more than"),
        (vec!["--set", "lr=-0.1"], "learning rate"),
        (vec!["--threads", "4294967296"], "--threads 4294967296 is out of range"),
        (vec!["--threads", "0"], "out of range"),
        (vec!["--seeds", "1,2,1"], "seed 1 twice"),
    ];
    for (extra, want) in cases {
        let mut args = vec!["run", "xor", "--out", "r"];
        args.extend(extra.iter());
        fails_with(&tchlab(&args, dir.path()), want);
        assert!(!dir.path().join("r").exists());
    }
    let o = tchlab(&["run", "hyperparameter-sweep", "--out", "r", "--set", "lrs=,"], dir.path());
    fails_with(&o, "at least one learning rate");
    let o = tchlab(&["run", "xor", "--out", "r", "--set", "hidden=99999999999"], dir.path());
    fails_with(&o, "more than the limit");
    for value in ["4294967296", "many"] {
        let o = command(&["run", "xor", "--out", "r"], dir.path()).env("TCHLAB_THREADS", value).output().unwrap();
        fails_with(&o, "TCHLAB_THREADS");
    }
    assert!(leftovers(&dir.path().join("r")).is_empty());
}

#[test]
fn checkpoints_follow_the_same_rules_and_a_panic_leaves_nothing() {
    use tchlab::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let model = Mlp::new(&MlpConfig::new(2, &[4], 2), 1).unwrap();
    let ckpt = dir.path().join("ckpt");
    tchlab::train::save_checkpoint(&model, &History::default(), &ckpt).unwrap();
    tchlab::train::save_checkpoint(&model, &History::default(), &ckpt).unwrap();
    assert!(ckpt.join("weights.safetensors").is_file());
    let err = |r: anyhow::Result<()>| format!("{:#}", r.unwrap_err());
    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("keep.txt"), "x").unwrap();
    assert!(err(tchlab::train::save_checkpoint(&model, &History::default(), &foreign)).contains("not a tchlab result"));
    assert!(foreign.join("keep.txt").is_file());
    assert!(
        err(tchlab::train::save_checkpoint(&model, &History::default(), Path::new(".."))).contains("parent folder")
    );
    // A run result is not a checkpoint.
    let o = run_xor(dir.path().join("run").to_str().unwrap(), dir.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        err(tchlab::train::save_checkpoint(&model, &History::default(), &dir.path().join("run")))
            .contains("not a checkpoint result")
    );
    // A panic while writing removes the temporary folder and keeps the old result.
    let before = tree(&ckpt);
    let caught = std::panic::catch_unwind(|| {
        let writer = tchlab::output::ResultDir::create(&ckpt, "checkpoint").unwrap();
        std::fs::write(writer.path().join("half.bin"), "partial").unwrap();
        panic!("boom");
    });
    assert!(caught.is_err());
    assert_eq!(tree(&ckpt), before);
    assert!(leftovers(&ckpt).is_empty(), "{:?}", leftovers(&ckpt));
}

#[test]
fn exports_replace_only_their_own_folders() {
    let dir = tempfile::tempdir().unwrap();
    let images = tch::Tensor::zeros([6, 4, 4], (tch::Kind::Uint8, tch::Device::Cpu));
    let labels = tch::Tensor::from_slice(&[0i64, 1, 2, 3, 4, 5]);
    let export = |name: &str| tchlab::data::export_custom(&images, &labels, 0..3, dir.path(), name);
    let csv = export("digits").unwrap();
    assert!(csv.is_file() && dir.path().join("digits/2.png").is_file());
    export("digits").unwrap();
    assert!(leftovers(&dir.path().join("digits")).is_empty());
    // A folder of the user's own with that name is not replaced, nor is a lone CSV.
    std::fs::create_dir(dir.path().join("mine")).unwrap();
    std::fs::write(dir.path().join("mine/photo.png"), "keep").unwrap();
    assert!(format!("{:#}", export("mine").unwrap_err()).contains("not a tchlab result"));
    assert!(dir.path().join("mine/photo.png").is_file());
    std::fs::write(dir.path().join("table.csv"), "keep").unwrap();
    assert!(format!("{:#}", export("table").unwrap_err()).contains("not a tchlab export"));
    assert_eq!(std::fs::read_to_string(dir.path().join("table.csv")).unwrap(), "keep");
    // Labels that do not match the images are an error, not a panic.
    let short = tch::Tensor::from_slice(&[0i64, 1]);
    let err = tchlab::data::export_custom(&images, &short, 0..3, dir.path(), "short").unwrap_err();
    assert!(err.to_string().contains("one label per image"), "{err}");
}
