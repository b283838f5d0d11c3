//! The `tchlab` command line: environment check, data tools, and the lecture's
//! experiments with results written to files.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::{Parser, Subcommand};
use tchlab::data::{Mnist, MnistKind};
use tchlab::experiments::{self, Params};

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
    // Before any matrix product: results then do not depend on the thread count.
    tchlab::env::prepare_process();
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
                println!("{:<22}   notebook: notebooks/{}.ipynb", "", e.notebook);
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
        DataCommand::Info { path } => {
            print!("{}", tchlab::data::describe(&path)?);
            Ok(())
        }
    }
}

/// The settings of `tchlab run`: `--set` (and `--ci`, `--epochs`, `--device`) checked
/// against the experiment's settings, and the seeds to run (`--seed`, `--seeds`).
fn run_settings(experiment: &experiments::Experiment, args: &RunArgs) -> Result<(Params, Vec<Option<u64>>)> {
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
    Ok((params, seeds))
}

fn run(args: RunArgs) -> Result<()> {
    let experiment = experiments::find(&args.experiment)?;
    tchlab::env::set_threads(args.threads)?;
    let (params, seeds) = run_settings(experiment, &args)?;
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
            report.save(&dir, clock.elapsed().as_secs_f64())?;
            reports.push((seed.unwrap_or_default(), report));
        }
        if reports.len() > 1 {
            print!("{}", experiments::save_seed_summary(&reports, &part)?);
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
