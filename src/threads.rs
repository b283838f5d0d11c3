//! How many threads libtorch computes with while training: every core on a quiet machine,
//! fewer while other processes keep cores busy, without changing a single result.
//!
//! libtorch's OpenMP threads spin while they wait for each other. When another process
//! takes a core, the spinning thread and the one it waits for share it, and a step of the
//! lecture's models becomes 3–4× slower than on one thread (measured with `make bench`).
//! A [`ThreadGovernor`] watches how busy the machine is apart from this process and sets
//! libtorch's thread count to the cores left free. That is safe for reproducibility only
//! because [`reproducible_products`] makes MKL's matrix products give the same bits for
//! any thread count; without it the governor leaves the count alone.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Set when the thread count was chosen explicitly ([`crate::env::set_threads`] with a
/// count, `TCHLAB_THREADS`, `--threads`): the governor then never changes it.
static PINNED: AtomicBool = AtomicBool::new(false);

/// Records that the thread count was chosen explicitly (the governor keeps it).
pub(crate) fn pin() {
    PINNED.store(true, Ordering::Relaxed);
}

/// Asks MKL (libtorch's matrix products on the CPU) for conditional numerical
/// reproducibility in strict mode, so that a product gives the same bits whatever the
/// number of threads, and says whether that holds. It holds only when asked before
/// MKL's first product in this process, or when the environment already asked
/// (`MKL_CBWR=AUTO,STRICT`, which the notebooks' kernel sets); tchlab asks in
/// [`crate::env::prepare_process`]. `false` when libtorch has no MKL, and when
/// [`crate::env::process_tuning`] is off (then tchlab does not ask).
///
/// ```
/// let first = tchlab::threads::reproducible_products();
/// assert_eq!(tchlab::threads::reproducible_products(), first); // decided once
/// ```
pub fn reproducible_products() -> bool {
    static HOLDS: OnceLock<bool> = OnceLock::new();
    *HOLDS.get_or_init(|| {
        if !crate::env::process_tuning() {
            return false;
        }
        // MKL_CBWR_AUTO | MKL_CBWR_STRICT (mkl_cbwr.h); success is MKL_CBWR_SUCCESS = 0.
        const AUTO_STRICT: libc::c_int = 2 | 0x10000;
        // SAFETY: dlsym with a NUL-terminated name only looks the symbol up; when found it
        // is MKL's `int mkl_serv_cbwr_set(int)`, which only records the mode.
        unsafe {
            let symbol = libc::dlsym(libc::RTLD_DEFAULT, c"mkl_serv_cbwr_set".as_ptr());
            if symbol.is_null() {
                return false;
            }
            let set: extern "C" fn(libc::c_int) -> libc::c_int = std::mem::transmute(symbol);
            set(AUTO_STRICT) == 0
        }
    })
}

/// Follows the machine's load during a run: every half second it measures how many cores
/// other processes kept busy and sets libtorch's thread count to the cores left (at
/// least one), restoring the count it found when dropped. Inactive (it changes nothing)
/// when the count was chosen explicitly, when it is not the default of one per core,
/// when products are not [reproducible](reproducible_products) across thread counts, or
/// where `/proc` cannot be read.
///
/// ```
/// let mut governor = tchlab::threads::ThreadGovernor::new();
/// governor.tick(); // cheap: measures at most every half second
/// drop(governor); // the thread count is back to what it was
/// ```
pub struct ThreadGovernor {
    active: bool,
    cores: usize,
    start: i32,
    current: usize,
    last: Option<Sample>,
}

/// CPU time used by the whole machine and by this process, in clock ticks.
#[derive(Clone, Copy)]
struct Sample {
    at: Instant,
    machine: u64,
    process: u64,
}

/// How often the governor measures.
const PERIOD: Duration = Duration::from_millis(500);
/// Clock ticks per second of `/proc`'s CPU times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

impl ThreadGovernor {
    /// A governor for the run about to start (see the type's description for when it acts).
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let start = tch::get_num_threads();
        let default_count = start == cores as i32;
        let active = cores > 1 && default_count && !PINNED.load(Ordering::Relaxed) && reproducible_products();
        let last = if active { Sample::now() } else { None };
        ThreadGovernor { active: active && last.is_some(), cores, start, current: cores, last }
    }

    /// The thread count it last chose (one per core until it measures load).
    ///
    /// ```
    /// let governor = tchlab::threads::ThreadGovernor::new();
    /// assert!(governor.threads() >= 1);
    /// ```
    pub fn threads(&self) -> usize {
        self.current
    }

    /// Measures, if half a second has passed since the last measurement, and sets the
    /// thread count to the cores that other processes left free.
    pub fn tick(&mut self) {
        let Some(last) = self.last.filter(|l| self.active && l.at.elapsed() >= PERIOD) else { return };
        let Some(now) = Sample::now() else { return };
        let seconds = now.at.duration_since(last.at).as_secs_f64();
        let others = now.machine.saturating_sub(last.machine) as f64 - now.process.saturating_sub(last.process) as f64;
        let busy_elsewhere = (others / TICKS_PER_SECOND / seconds).max(0.0);
        self.last = Some(now);
        let wanted = free_cores(self.cores, busy_elsewhere);
        if wanted != self.current {
            tch::set_num_threads(wanted as i32);
            self.current = wanted;
        }
    }
}

impl Default for ThreadGovernor {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ThreadGovernor {
    fn drop(&mut self) {
        if self.active && self.current as i32 != self.start {
            tch::set_num_threads(self.start);
        }
    }
}

/// The thread count for `cores` cores of which other processes keep `busy_elsewhere`
/// busy: the cores they leave, at least one, counting as taken every core of which they
/// use 0.4 or more (a threshold measured on a 2-core machine, stated rather than derived;
/// beside two spinning threads on two cores, one busy process gets about
/// two thirds of a core; beside one thread, all of one).
fn free_cores(cores: usize, busy_elsewhere: f64) -> usize {
    let taken = (busy_elsewhere - 0.4).ceil().max(0.0) as usize;
    cores.saturating_sub(taken).max(1)
}

impl Sample {
    /// Reads `/proc/stat` (all CPUs' busy time) and `/proc/self/stat` (this process's).
    fn now() -> Option<Sample> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu: Vec<u64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
        // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
        let machine = cpu.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, v)| v).sum();
        let own = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
        let fields: Vec<&str> = own.rsplit_once(')')?.1.split_whitespace().collect();
        let process = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Sample { at: Instant::now(), machine, process })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_follows_the_free_cores() {
        assert_eq!(free_cores(2, 0.0), 2);
        assert_eq!(free_cores(2, 0.3), 2, "a little background work takes no core");
        assert_eq!(free_cores(2, 0.67), 1, "one busy process beside two spinning threads");
        assert_eq!(free_cores(2, 1.0), 1, "one busy process beside one thread");
        assert_eq!(free_cores(2, 2.5), 1, "never fewer than one");
        assert_eq!(free_cores(8, 3.0), 5);
    }

    #[test]
    fn proc_samples_count_this_process() {
        let a = Sample::now().expect("/proc is readable on Linux");
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(120) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        let b = Sample::now().unwrap();
        assert!(x > 0);
        assert!(b.process >= a.process + 5, "120 ms of work should show as >= 5 ticks: {} -> {}", a.process, b.process);
        // The machine's busy time includes this process's (up to a tick of rounding per CPU).
        assert!(
            b.machine - a.machine + 4 >= b.process - a.process,
            "{a:?} {b:?}",
            a = (a.machine, a.process),
            b = (b.machine, b.process)
        );
    }
}
