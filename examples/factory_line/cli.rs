//! Command-line flags and the final summary table.

use std::path::PathBuf;
use std::time::Duration;

/// Devices manufactured when `--devices` is not given: sized so that the whole run takes
/// well under a minute in release on a 2-core machine even while other jobs share it.
/// Measured on the project's 2-core machine: 19 s (load average about 3 from other
/// builds); the cost is about 2.7 ms of CPU per device, most of it the handshake's P-256
/// operations.
pub const DEFAULT_DEVICES: u32 = 10_000;

/// The usage text printed by `--help` and after a bad argument.
pub const USAGE: &str = "\
usage: factory_line [--devices N] [--out DIR] [--threads T] [--help]

  --devices N   devices to manufacture, 1 to 4294967295 (default 10000)
  --out DIR     where the shipment file, device images and SQLite ledger go
                (default: a new directory under the system temp dir, printed)
  --threads T   worker threads for the per-device steps (default: available parallelism)
  --help        print this text";

/// What the run was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Number of devices.
    pub devices: u32,
    /// Output directory; `None` for a fresh temporary one.
    pub out: Option<PathBuf>,
    /// Worker threads.
    pub threads: usize,
}

/// The outcome of parsing the command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Run with this configuration.
    Run(Config),
    /// Print the usage and exit successfully.
    Help,
}

/// Parses the flags (without the program name). Accepts `--flag value` and
/// `--flag=value`; every error is one line that names the offending argument.
pub fn parse<I: IntoIterator<Item = String>>(
    args: I,
    default_threads: usize,
) -> Result<Parsed, String> {
    let mut config = Config {
        devices: DEFAULT_DEVICES,
        out: None,
        threads: default_threads.max(1),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone().or_else(|| args.next()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "--help" | "-h" if inline.is_none() => return Ok(Parsed::Help),
            "--devices" => {
                let v = value("--devices")?;
                config.devices = positive::<u32>("--devices", &v)?;
            }
            "--threads" => {
                let v = value("--threads")?;
                let t = positive::<usize>("--threads", &v)?;
                if t > 1024 {
                    return Err(format!("--threads {t} is more than 1024"));
                }
                config.threads = t;
            }
            "--out" => config.out = Some(PathBuf::from(value("--out")?)),
            _ if arg.starts_with('-') => return Err(format!("unknown flag '{arg}'")),
            _ => return Err(format!("unexpected argument '{arg}'")),
        }
    }
    Ok(Parsed::Run(config))
}

fn positive<T: std::str::FromStr + PartialEq + From<u8>>(name: &str, v: &str) -> Result<T, String> {
    let digits = v.replace('_', "");
    let n: T = digits
        .parse()
        .map_err(|_| format!("{name} wants a whole number, got '{v}'"))?;
    if n == T::from(0) {
        return Err(format!("{name} must be at least 1"));
    }
    Ok(n)
}

/// One line of the summary table.
#[derive(Debug, Clone)]
pub struct Row {
    /// The step's name.
    pub step: &'static str,
    /// Items the step processed (devices, records, keys).
    pub count: u64,
    /// Wall time of the step.
    pub time: Duration,
    /// Bytes the step put on a wire or into a file that crosses one, if it does.
    pub bytes: Option<u64>,
    /// Checks that failed.
    pub failures: u64,
}

/// Renders the rows as a plain-text table with aligned columns.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "step",
        "count",
        "time",
        "per second",
        "bytes on wire",
        "failures",
    ];
    let mut cells: Vec<[String; 6]> = vec![header.map(str::to_owned)];
    for r in rows {
        let secs = r.time.as_secs_f64();
        let rate = if secs > 0.0 && r.count > 0 {
            group(r.count as f64 / secs)
        } else {
            "-".to_owned()
        };
        cells.push([
            r.step.to_owned(),
            group(r.count as f64),
            format_time(r.time),
            rate,
            r.bytes.map_or_else(|| "-".to_owned(), |b| group(b as f64)),
            r.failures.to_string(),
        ]);
    }
    let total_time: Duration = rows.iter().map(|r| r.time).sum();
    let total_bytes: u64 = rows.iter().filter_map(|r| r.bytes).sum();
    let total_failures: u64 = rows.iter().map(|r| r.failures).sum();
    cells.push([
        "total".to_owned(),
        String::new(),
        format_time(total_time),
        String::new(),
        group(total_bytes as f64),
        total_failures.to_string(),
    ]);
    let mut widths = [0usize; 6];
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let rule: String = widths
        .iter()
        .map(|w| "-".repeat(*w))
        .collect::<Vec<_>>()
        .join("  ");
    let mut out = String::new();
    for (i, row) in cells.iter().enumerate() {
        if i == 1 || i == cells.len() - 1 {
            out.push_str(&rule);
            out.push('\n');
        }
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(col, (c, w))| {
                if col == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `12345.6` → `"12,346"`.
pub fn group(x: f64) -> String {
    let n = x.round().max(0.0) as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A duration as seconds or milliseconds, whichever reads better.
pub fn format_time(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.1} ms", s * 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags() {
        let Ok(Parsed::Run(c)) = parse(args(&["--devices", "1_000", "--threads=3"]), 2) else {
            panic!("valid flags refused");
        };
        assert_eq!((c.devices, c.threads, c.out), (1000, 3, None));
        assert_eq!(parse(args(&["--help"]), 2), Ok(Parsed::Help));
        for bad in [
            &["--devices"][..],
            &["--devices", "0"],
            &["--devices", "ten"],
            &["--devices", "-5"],
            &["--devices", "99999999999"],
            &["--threads", "0"],
            &["--out"],
            &["--frobnicate"],
            &["stray"],
        ] {
            assert!(parse(args(bad), 2).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn usage_names_the_default() {
        assert!(USAGE.contains(&format!("(default {DEFAULT_DEVICES})")));
    }

    #[test]
    fn table_columns_align() {
        let rows = [Row {
            step: "handshakes",
            count: 1_000_000,
            time: Duration::from_secs(2),
            bytes: Some(451_000_000),
            failures: 0,
        }];
        let t = table(&rows);
        assert!(t.contains("500,000"), "{t}");
        let widths: Vec<usize> = t.lines().map(str::len).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{t}");
    }

    #[test]
    fn numbers() {
        assert_eq!(group(1_234_567.4), "1,234,567");
        assert_eq!(group(999.0), "999");
        assert_eq!(format_time(Duration::from_millis(1500)), "1.50 s");
    }
}
