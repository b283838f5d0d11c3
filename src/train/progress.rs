//! What a run prints while it trains.

use super::TrainConfig;

/// Progress output: one line per epoch when verbose, above a progress bar on a terminal
/// (with the `progress` feature).
pub(crate) struct Progress {
    verbose: bool,
    #[cfg(feature = "progress")]
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    pub(crate) fn new(c: &TrainConfig, batches: usize) -> Self {
        Progress {
            verbose: c.verbose,
            #[cfg(feature = "progress")]
            bar: (c.verbose && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
                let bar = indicatif::ProgressBar::new(batches as u64);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:30} {pos}/{len} batches {elapsed_precise} eta {eta} {msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar
            }),
        }
    }

    pub(crate) fn batch_done(&self) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    pub(crate) fn line(&self, line: String) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            return bar.println(line);
        }
        if self.verbose {
            println!("{line}");
        }
    }

    pub(crate) fn finish(&self) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
