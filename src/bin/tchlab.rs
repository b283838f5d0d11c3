//! The `tchlab` command line: environment check, data tools, and the lecture's
//! experiments with results written to files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use serde_json::json;
use tchlab::data::{CsvImageDataset, Dataset, ImageFolder, Mnist, MnistKind, channel_mean_std};
use tchlab::experiments::{self, Params, Report};

#[derive(Parser)]
#[command(
    name = "tchlab",
    version,
    about = "Re-run the experiments of STAT 453 lecture 9 (multilayer perceptrons) in Rust"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check libtorch, threads, CUDA and the data folders.
    Doctor,
    /// Fetch, export and inspect data.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// List the experiments with their default settings.
    List,
    /// Run an experiment and write history.csv, summary.json and figures.
    Run(RunArgs),
}

#[derive(Subcommand)]
enum DataCommand {
    /// Download (or copy from a mirror) MNIST or Fashion-MNIST, checking MD5s.
    Fetch {
        /// mnist or fashion-mnist
        dataset: String,
        /// A mirror URL or folder, tried first.
        #[arg(long)]
        mirror: Option<String>,
        /// Target folder (default: TCHLAB_DATA_DIR/<dataset>).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Write MNIST in the lecture's custom layout (PNG files + CSV).
    ExportCustom {
        /// Target folder (default: TCHLAB_DATA_DIR/custom).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Recognise and check a data folder (IDX set, CSV layout or image folder).
    Info {
        /// The folder (or a CSV file of the custom layout).
        path: PathBuf,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Experiment name (see `tchlab list`).
    experiment: String,
    /// Epochs (where the experiment has an `epochs` setting).
    #[arg(long)]
    epochs: Option<usize>,
    /// Seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Several seeds, comma-separated: repeats the run and summarises mean and spread.
    #[arg(long, value_delimiter = ',', conflicts_with = "seed")]
    seeds: Vec<u64>,
    /// cpu, cuda or auto (where the experiment has a `device` setting).
    #[arg(long)]
    device: Option<String>,
    /// libtorch threads.
    #[arg(long)]
    threads: Option<usize>,
    /// Use the experiment's short CI settings as the base.
    #[arg(long)]
    ci: bool,
    /// Output folder (default: runs/<experiment>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Settings, key=value (repeatable); `tchlab list` shows the keys.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

fn main() -> ExitCode {
    tchlab::output::clean_up_on_signals();
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("error: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Doctor => {
            tchlab::doctor();
            Ok(())
        }
        Command::List => {
            for e in experiments::all() {
                println!("{:<22} {}", e.name, e.description);
                let defaults: Vec<String> = (e.defaults)().iter().map(|(k, v)| format!("{k}={v}")).collect();
                println!("{:<22}   {}", "", defaults.join(" "));
            }
            Ok(())
        }
        Command::Data { command } => data(command),
        Command::Run(args) => run(args),
    }
}

fn data(command: DataCommand) -> Result<()> {
    let settings = tchlab::env::Settings::from_env();
    match command {
        DataCommand::Fetch { dataset, mirror, dir } => {
            let kind = MnistKind::parse(&dataset)?;
            let mut mirrors = tchlab::data::mirrors(kind, &settings);
            if let Some(m) = mirror {
                mirrors.insert(0, m);
            }
            let dir = dir.unwrap_or_else(|| settings.data_dir.join(kind.name()));
            Mnist::fetch(kind, &dir, &mirrors)?;
            let m = Mnist::load_dir(kind, &dir)?;
            println!(
                "{} ready in {}: {} training and {} test images",
                kind.name(),
                dir.display(),
                m.train_labels.size()[0],
                m.test_labels.size()[0]
            );
            Ok(())
        }
        DataCommand::ExportCustom { dir } => {
            let dir = dir.unwrap_or_else(|| settings.data_dir.join("custom"));
            let m = Mnist::load(MnistKind::Digits)?;
            for csv in tchlab::data::export_lecture_layout(&m, &dir)? {
                println!("wrote {}", csv.display());
            }
            Ok(())
        }
        DataCommand::Info { path } => info(&path),
    }
}

fn summarise(name: &str, ds: &dyn Dataset) -> Result<()> {
    let n = ds.len();
    let mut counts = std::collections::BTreeMap::<i64, usize>::new();
    let mut shape = None;
    let indices: Vec<usize> = (0..n).collect();
    for chunk in indices.chunks(512) {
        let (x, y) = ds.batch(chunk, 0).with_context(|| format!("checking {name}"))?;
        shape.get_or_insert_with(|| x.size()[1..].to_vec());
        for l in Vec::<i64>::try_from(y)? {
            *counts.entry(l).or_default() += 1;
        }
    }
    let (mean, std) = channel_mean_std(ds).unwrap_or_default();
    let classes = ds.classes();
    let per: Vec<String> = counts
        .iter()
        .map(|(l, c)| format!("{}:{c}", classes.get(*l as usize).cloned().unwrap_or_else(|| l.to_string())))
        .collect();
    println!("{name}: {n} images of shape {:?}", shape.unwrap_or_default());
    println!("  per class: {}", per.join(" "));
    if !mean.is_empty() {
        println!("  pixel mean {mean:.4?} std {std:.4?}");
    }
    Ok(())
}

fn info(path: &Path) -> Result<()> {
    if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    if path.is_file() && path.extension().is_some_and(|e| e == "csv") {
        return summarise(&path.display().to_string(), &CsvImageDataset::open(path)?);
    }
    let entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("listing {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let name = |p: &PathBuf| p.file_name().unwrap_or_default().to_string_lossy().into_owned();
    if entries.iter().any(|p| name(p).contains("-idx3-ubyte")) {
        let kind = if entries.iter().any(|p| name(p).contains("fashion")) || path.to_string_lossy().contains("fashion")
        {
            MnistKind::Fashion
        } else {
            MnistKind::Digits
        };
        println!("{}: an IDX image set ({})", path.display(), kind.name());
        for p in entries.iter().filter(|p| name(p).ends_with(".gz")) {
            println!(
                "  {} md5 {}",
                name(p),
                tchlab::data::md5_hex(&tchlab::data::read_regular_file(p, tchlab::data::MAX_GZ_BYTES)?)
            );
        }
        let m = Mnist::load_dir(kind, path)?;
        let train = m.train(tchlab::data::Scaling::Unit);
        let test = m.test(tchlab::data::Scaling::Unit);
        summarise("train", &train)?;
        return summarise("test", &test);
    }
    let csvs: Vec<&PathBuf> =
        entries.iter().filter(|p| p.extension().is_some_and(|e| e == "csv") && p.with_extension("").is_dir()).collect();
    if !csvs.is_empty() {
        println!("{}: the custom layout (CSV + image folder)", path.display());
        for csv in csvs {
            summarise(&name(csv), &CsvImageDataset::open(csv)?)?;
        }
        return Ok(());
    }
    let splits: Vec<&PathBuf> =
        entries.iter().filter(|p| p.is_dir() && ["train", "valid", "test"].contains(&name(p).as_str())).collect();
    if !splits.is_empty() {
        for s in splits {
            info(s)?;
        }
        return Ok(());
    }
    if entries.iter().any(|p| p.is_dir()) {
        println!("{}: an image folder (one sub-folder per class)", path.display());
        let ds = ImageFolder::open(path)?;
        let sizes = first_sizes(&ds);
        let transforms = if sizes.len() > 1 {
            println!(
                "  images differ in size ({} distinct sizes among the first 200); summarised after resizing to 64×64",
                sizes.len()
            );
            tchlab::data::Transforms::new()
                .then(tchlab::data::Transform::Rgb)
                .then(tchlab::data::Transform::Resize { width: 64, height: 64 })
        } else {
            tchlab::data::Transforms::new()
        };
        return summarise(&path.display().to_string(), &ds.transforms(transforms)?);
    }
    bail!("{}: not an IDX set, a CSV layout or an image folder", path.display())
}

fn first_sizes(ds: &ImageFolder) -> std::collections::BTreeSet<(u32, u32)> {
    ds.files().iter().take(200).filter_map(|(p, _)| image::image_dimensions(p).ok()).collect()
}

fn run(args: RunArgs) -> Result<()> {
    let experiment = experiments::find(&args.experiment)?;
    tchlab::env::set_threads(args.threads)?;
    let mut params = Params::parse(&args.set)?;
    if args.ci {
        params.set("profile", "ci");
    }
    let known: Vec<String> = (experiment.defaults)().into_iter().map(|(k, _)| k).collect();
    let mut put = |key: &str, value: Option<String>| -> Result<()> {
        if let Some(v) = value {
            if !known.iter().any(|k| k == key) {
                bail!("--{key} does not apply to {}; its settings are: {}", experiment.name, known.join(", "));
            }
            params.set(key, v);
        }
        Ok(())
    };
    put("epochs", args.epochs.map(|e| e.to_string()))?;
    put("device", args.device.clone())?;
    let seeds: Vec<Option<u64>> =
        if args.seeds.is_empty() { vec![args.seed] } else { args.seeds.iter().map(|&s| Some(s)).collect() };
    let mut distinct = args.seeds.clone();
    distinct.sort_unstable();
    if let Some(w) = distinct.windows(2).find(|w| w[0] == w[1]) {
        bail!("--seeds lists seed {} twice: give each seed once", w[0]);
    }
    if seeds.iter().any(Option::is_some) && !known.iter().any(|k| k == "seed") {
        bail!("--seed does not apply to {}", experiment.name);
    }
    let out = args.out.unwrap_or_else(|| PathBuf::from("runs").join(experiment.name));
    // Checked, locked and created before any training: a folder that may not be
    // replaced is refused up front, and the results appear only when complete.
    let writer = tchlab::output::ResultDir::create(&out, "run")?;
    let part = writer.path().to_path_buf();
    let clock = Instant::now();
    let result = (|| -> Result<()> {
        let mut reports = Vec::new();
        for seed in &seeds {
            let mut p = params.clone();
            if let Some(s) = seed {
                p.set("seed", s);
            }
            let report = (experiment.run)(&p)?;
            report.print();
            let dir =
                if seeds.len() > 1 { part.join(format!("seed-{}", seed.unwrap_or_default())) } else { part.clone() };
            write_report(&report, &dir, clock.elapsed().as_secs_f64())?;
            reports.push((seed.unwrap_or_default(), report));
        }
        if reports.len() > 1 {
            write_seed_summary(&reports, &part)?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        return Err(e.context(format!("{} failed; nothing was written to {}", experiment.name, out.display())));
    }
    let written = writer.commit()?;
    println!("wrote {}", written.display());
    Ok(())
}

fn versions() -> serde_json::Value {
    json!({
        "tchlab": env!("CARGO_PKG_VERSION"),
        "libtorch": tchlab::env::libtorch_version(),
        "threads": tch::get_num_threads(),
    })
}

fn write_report(report: &Report, dir: &Path, seconds: f64) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("history.csv"), report.histories_csv()?)?;
    let figures = report.save_figures(dir)?;
    for (name, table) in &report.tables {
        std::fs::write(dir.join(format!("{name}.txt")), table.to_text())?;
    }
    let summary = json!({
        "experiment": report.name,
        "settings": report.settings.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        "metrics": report.metrics.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "figures": figures,
        "versions": versions(),
        "seconds": report.seconds,
        "seconds_total": seconds,
    });
    std::fs::write(dir.join("summary.json"), serde_json::to_string_pretty(&summary)?)?;
    Ok(())
}

fn write_seed_summary(reports: &[(u64, Report)], dir: &Path) -> Result<()> {
    let mut metrics = serde_json::Map::new();
    for (name, _) in &reports[0].1.metrics {
        let values: Vec<f64> = reports.iter().filter_map(|(_, r)| r.get(name)).collect();
        let (mean, std) = tchlab::metrics::mean_std(&values);
        let (min, max) = values.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        metrics.insert(name.clone(), json!({"mean": mean, "std": std, "min": min, "max": max, "values": values}));
    }
    let summary = json!({
        "experiment": reports[0].1.name,
        "seeds": reports.iter().map(|(s, _)| s).collect::<Vec<_>>(),
        "metrics": metrics,
        "versions": versions(),
    });
    std::fs::write(dir.join("summary.json"), serde_json::to_string_pretty(&summary)?)?;
    println!("{} seeds: mean ± std", reports.len());
    for (k, v) in &metrics {
        println!(
            "  {k:<32} {:.4} ± {:.4}",
            v["mean"].as_f64().unwrap_or(f64::NAN),
            v["std"].as_f64().unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
