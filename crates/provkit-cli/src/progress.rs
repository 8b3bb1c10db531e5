//! Progress bars on stderr when it is a terminal; nothing at all otherwise (scripts,
//! logs, tests).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Read};

/// A bar of `len` steps named `name`, hidden unless stderr is a terminal.
#[must_use]
pub fn bar(name: &str, len: u64, bytes: bool) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let template = if bytes {
        "{prefix:<16} [{bar:40}] {bytes}/{total_bytes}  {elapsed} eta {eta}"
    } else {
        "{prefix:<16} [{bar:40}] {human_pos}/{human_len}  {elapsed} eta {eta}"
    };
    let style = ProgressStyle::with_template(template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(name.to_owned());
    bar
}

/// A reader that advances a bar by the bytes read.
#[derive(Debug)]
pub struct Counting<R> {
    /// The reader.
    pub inner: R,
    /// The bar.
    pub bar: ProgressBar,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}
