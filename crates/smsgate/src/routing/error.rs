//! Why routes could not be built.

use std::path::PathBuf;

/// A route or price table that cannot be used. Each names what is wrong and
/// where, so the operator can fix the file without reading code.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// A route's settings contradict each other or are out of range.
    #[error("route {route:?}: {problem}")]
    Invalid {
        /// The route's name (or its position, if it has no usable name).
        route: String,
        /// What is wrong, and what would be right.
        problem: String,
    },
    /// A route's regex does not compile.
    #[error("route {route:?}: invalid {field}: {source}")]
    Regex {
        /// The route.
        route: String,
        /// The setting, e.g. `text_regex`.
        field: &'static str,
        /// What the regex engine said.
        source: regex::Error,
    },
    /// A price table file cannot be read.
    #[error("cannot read price table {}: {source}", path.display())]
    PriceFile {
        /// The file, as resolved against the configuration's directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line of a price table is not `prefix,price`.
    #[error("price table {}, line {line}: {problem}", path.display())]
    PriceLine {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
}
