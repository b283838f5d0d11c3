//! The lecture's XOR experiment from a script: `cargo run --example xor`.
//! Also (re)writes `data/xor.csv` with `cargo run --example xor -- --write-csv`.
use tchlab::experiments::xor;

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--write-csv") {
        let path = tchlab::env::crate_dir().join("data/xor.csv");
        tchlab::data::Xor::lecture().save_csv(&path)?;
        println!("wrote {}", path.display());
        return Ok(());
    }
    let report = xor::run(&xor::Config::lecture())?;
    report.print();
    for (name, fig) in &report.figures {
        fig.save(format!("target/xor-{name}.png"))?;
    }
    Ok(())
}
