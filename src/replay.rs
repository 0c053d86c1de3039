//! `vtrack replay`: the engine over NDJSON files, no Kafka (contract section 7).
//!
//! Event time is `--as-of` (default: the greatest event time among the valid input events);
//! events after it have not happened yet and are ignored. Every event is applied before
//! time moves, so nothing in a replay is late.

use crate::carriers::CarrierRegistry;
use crate::codec::{decode_confirmation_json, decode_scan_json, DecodeError};
use crate::config::EngineConfig;
use crate::engine::{Engine, EngineCounters, StateStats};
use crate::event::{Event, Millis};
use crate::records::{SellerVtrRecord, Status};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors that stop a replay (bad input lines do not: they go to `dead_letters.ndjson`).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// An input or output file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What to replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// NDJSON shipment confirmations.
    pub confirmations: PathBuf,
    /// NDJSON carrier scans.
    pub scans: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// Event time at the end; default the greatest event time in the input.
    pub as_of: Option<Millis>,
    /// Show a progress bar.
    pub progress: bool,
}

/// One bad input line, as written to `dead_letters.ndjson`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeadLetter {
    /// The input file.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// What was wrong.
    pub error: String,
}

/// What a replay did.
#[derive(Debug, Clone)]
pub struct ReplaySummary {
    /// Event time at the end.
    pub as_of: Option<Millis>,
    /// Input lines read (both files, blank lines excluded).
    pub lines: u64,
    /// Bad input lines.
    pub dead_letters: u64,
    /// Valid events after `as_of`, ignored.
    pub after_as_of: u64,
    /// Engine counters.
    pub counters: EngineCounters,
    /// Verdicts per status.
    pub by_status: [u64; 4],
    /// Seller rows written.
    pub seller_rows: usize,
    /// Seller/category/window rows at risk.
    pub at_risk_rows: usize,
    /// Late-confirmation rows written.
    pub late_confirmations: usize,
    /// Wall-clock seconds spent.
    pub seconds: f64,
    /// State sizes at the end.
    pub state: StateStats,
}

/// Which of the two inputs a line comes from.
#[derive(Clone, Copy)]
enum Kind {
    Confirmation,
    Scan,
}

/// Runs a replay and writes the four output files.
pub fn replay(
    opts: &ReplayOptions,
    cfg: &EngineConfig,
    carriers: Arc<CarrierRegistry>,
) -> Result<ReplaySummary, ReplayError> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(&opts.out).map_err(|e| io_err(&opts.out, e))?;
    let mut dead = Writer::create(&opts.out.join("dead_letters.ndjson"))?;
    let mut engine = Engine::new(cfg.clone(), carriers, false);
    let total_bytes = file_len(&opts.confirmations) + file_len(&opts.scans);
    let bar = progress_bar(opts.progress, total_bytes);
    let mut state = ReadState::default();
    for (path, kind) in [
        (&opts.confirmations, Kind::Confirmation),
        (&opts.scans, Kind::Scan),
    ] {
        read_file(
            path,
            kind,
            opts.as_of,
            &mut engine,
            &mut dead,
            &bar,
            &mut state,
        )?;
    }
    bar.finish_and_clear();
    let as_of = opts.as_of.or(state.max_time);
    if let Some(t) = as_of {
        engine.advance_to(t);
    }
    dead.finish()?;
    let written = write_outputs(&opts.out, &engine, as_of)?;
    Ok(ReplaySummary {
        as_of,
        lines: state.lines,
        dead_letters: state.dead,
        after_as_of: state.after_as_of,
        counters: engine.counters(),
        by_status: written.by_status,
        seller_rows: written.seller_rows,
        at_risk_rows: written.at_risk_rows,
        late_confirmations: written.late_confirmations,
        seconds: started.elapsed().as_secs_f64(),
        state: engine.state_stats(),
    })
}

#[derive(Default)]
struct ReadState {
    lines: u64,
    dead: u64,
    after_as_of: u64,
    max_time: Option<Millis>,
}

fn read_file(
    path: &Path,
    kind: Kind,
    as_of: Option<Millis>,
    engine: &mut Engine,
    dead: &mut Writer,
    bar: &ProgressBar,
    st: &mut ReadState,
) -> Result<(), ReplayError> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let mut number = 0u64;
    let name = path.display().to_string();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| io_err(path, e))?;
        if n == 0 {
            break;
        }
        number += 1;
        bar.inc(n as u64);
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        st.lines += 1;
        let mut reject = |st: &mut ReadState, error: String| {
            st.dead += 1;
            dead.write(&DeadLetter {
                file: name.clone(),
                line: number,
                error,
            })
        };
        // A byte-order mark (some editors write one) is not part of the first event.
        let bytes = match line.strip_prefix(b"\xef\xbb\xbf") {
            Some(rest) if number == 1 => rest,
            _ => &line[..],
        };
        let event = match decode(kind, bytes) {
            Ok(e) => e,
            Err(e) => {
                reject(st, e.to_string())?;
                continue;
            }
        };
        let t = event.event_time();
        if as_of.is_some_and(|a| t > a) {
            st.after_as_of += 1;
            continue;
        }
        st.max_time = Some(st.max_time.map_or(t, |m: Millis| m.max(t)));
        if let Err(e) = engine.process(event) {
            reject(st, e.to_string())?;
        }
    }
    Ok(())
}

/// Decodes one NDJSON line (JSON only: the files are NDJSON, so a line that is not JSON gets
/// the JSON parser's error, not a protobuf one).
fn decode(kind: Kind, line: &[u8]) -> Result<Event, DecodeError> {
    match kind {
        Kind::Confirmation => decode_confirmation_json(line).map(Event::Confirmation),
        Kind::Scan => decode_scan_json(line).map(Event::Scan),
    }
}

/// What the output files hold.
struct Written {
    by_status: [u64; 4],
    seller_rows: usize,
    at_risk_rows: usize,
    late_confirmations: usize,
}

fn write_outputs(
    out: &Path,
    engine: &Engine,
    as_of: Option<Millis>,
) -> Result<Written, ReplayError> {
    let verdicts = engine.verdicts();
    let mut by_status = [0u64; 4];
    let mut w = Writer::create(&out.join("verdicts.ndjson"))?;
    for v in &verdicts {
        by_status[v.status as usize] += 1;
        w.write(v)?;
    }
    w.finish()?;
    let rows: Vec<SellerVtrRecord> = if as_of.is_some() {
        engine.seller_rows()
    } else {
        Vec::new()
    };
    let mut w = Writer::create(&out.join("seller_vtr.ndjson"))?;
    for r in &rows {
        w.write(r)?;
    }
    w.finish()?;
    let late = engine.late_confirmations();
    let mut w = Writer::create(&out.join("late_confirmations.ndjson"))?;
    for l in &late {
        w.write(l)?;
    }
    w.finish()?;
    Ok(Written {
        by_status,
        seller_rows: rows.len(),
        at_risk_rows: rows.iter().filter(|r| r.at_risk).count(),
        late_confirmations: late.len(),
    })
}

impl ReplaySummary {
    /// Packages with a verdict.
    pub fn packages(&self) -> u64 {
        self.by_status.iter().sum()
    }

    /// A one-screen, human-readable summary.
    pub fn render(&self) -> String {
        let events = self.counters.confirmations + self.counters.scans;
        let rate = events as f64 / self.seconds.max(1e-9);
        let as_of = self
            .as_of
            .map_or("-".to_string(), crate::timestamp::format_rfc3339);
        let mut s = String::new();
        s += &format!("as of            {as_of}\n");
        s += &format!(
            "events           {} confirmations, {} scans ({} duplicates, {} after as-of)\n",
            self.counters.confirmations,
            self.counters.scans,
            self.counters.duplicates,
            self.after_as_of
        );
        s += &format!(
            "bad input        {} line(s), see dead_letters.ndjson\n",
            self.dead_letters
        );
        s += &format!("packages         {}\n", self.packages());
        for st in Status::ALL {
            s += &format!("  {:<14} {}\n", st.as_str(), self.by_status[st as usize]);
        }
        s += &format!(
            "seller rows      {} ({} at risk)\n",
            self.seller_rows, self.at_risk_rows
        );
        s += &format!("late confirms    {}\n", self.late_confirmations);
        s += &format!(
            "throughput       {:.0} events/s ({:.2} s)\n",
            rate, self.seconds
        );
        s
    }
}

/// A buffered NDJSON writer that names its file in errors.
struct Writer {
    path: PathBuf,
    inner: BufWriter<File>,
}

impl Writer {
    fn create(path: &Path) -> Result<Writer, ReplayError> {
        let f = File::create(path).map_err(|e| io_err(path, e))?;
        Ok(Writer {
            path: path.to_path_buf(),
            inner: BufWriter::with_capacity(1 << 20, f),
        })
    }

    fn write<T: Serialize>(&mut self, v: &T) -> Result<(), ReplayError> {
        serde_json::to_writer(&mut self.inner, v)
            .map_err(|e| io_err(&self.path, std::io::Error::other(e)))?;
        self.inner
            .write_all(b"\n")
            .map_err(|e| io_err(&self.path, e))
    }

    fn finish(mut self) -> Result<(), ReplayError> {
        self.inner.flush().map_err(|e| io_err(&self.path, e))
    }
}

fn io_err(path: &Path, source: std::io::Error) -> ReplayError {
    ReplayError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn progress_bar(enabled: bool, total: u64) -> ProgressBar {
    if !enabled || total < 8 << 20 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} replay [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
