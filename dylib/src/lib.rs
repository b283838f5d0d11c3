//! tchlab as one shared library, for notebook cells: a notebook's first cell says
//!
//! ```text
//! :dep tchlab = { package = "tchlab-dylib", path = "../dylib", features = ["download"] }
//! ```
//!
//! and every later cell links against this library instead of copying tchlab and its
//! dependencies into the cell. Everything is tchlab's own API, re-exported unchanged.
//! The same source builds `tchlab-dylib-polars` (`dylib/polars`), tchlab with polars, for
//! the notebooks that read CSV files:
//!
//! ```text
//! :dep tchlab = { package = "tchlab-dylib-polars", path = "../dylib/polars", features = ["download"] }
//! ```

pub use tchlab::*;
