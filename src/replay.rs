//! `vtrack replay`: the engine over NDJSON files, no Kafka (contract section 7).
//!
//! Event time is `--as-of` (default: the greatest event time among the valid input events);
//! events after it have not happened yet and are ignored. Every event is applied before
//! time moves, so nothing in a replay is late.

use crate::carriers::CarrierRegistry;
use crate::codec::{decode_confirmation_json, decode_scan_json, DecodeError};
use crate::config::EngineConfig;
use crate::engine::{event_id_hash, Engine, EngineCounters, StateStats};
use crate::event::{Event, Millis};
use crate::records::{SellerVtrRecord, Status};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
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
    /// An input could not be opened or read.
    #[error("--{flag} {path}: {source}")]
    Input {
        /// The option that named it (`confirmations`, `scans`).
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// An input names a directory.
    #[error("--{flag} {path}: is a directory, not an NDJSON file")]
    Directory {
        /// The option that named it.
        flag: &'static str,
        /// The directory.
        path: PathBuf,
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
    /// How to show progress on long inputs.
    pub progress: ShowProgress,
}

/// How a replay shows its progress on long inputs (8 MiB or more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowProgress {
    /// Not at all.
    Off,
    /// A progress bar (standard error is a terminal).
    Bar,
    /// A line on standard error per tenth of the work (logs, CI).
    Lines,
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
///
/// Events are applied in one canonical order, whatever the order of the lines: by event time,
/// confirmations before scans, then by a hash of the event id, then by line. The final
/// verdicts do not depend on the order anyway; applying them in this order makes every output
/// field, `revision` included (the versions a package went through), a function of the set
/// of input lines alone. The files are read twice: once to check every line and sort the
/// events (32 bytes each in memory), once, mapped into memory, to apply them.
pub fn replay(
    opts: &ReplayOptions,
    cfg: &EngineConfig,
    carriers: Arc<CarrierRegistry>,
) -> Result<ReplaySummary, ReplayError> {
    let started = std::time::Instant::now();
    let inputs = [
        Input::open(&opts.confirmations, Kind::Confirmation)?,
        Input::open(&opts.scans, Kind::Scan)?,
    ];
    std::fs::create_dir_all(&opts.out).map_err(|e| io_err(&opts.out, e))?;
    let mut engine = Engine::new(cfg.clone(), carriers, false).without_duplicate_filter();
    let total_bytes: u64 = inputs.iter().map(|i| i.bytes().len() as u64).sum();
    let bar = Progress::new(opts.progress, 2 * total_bytes);
    let mut state = ReadState::default();
    let mut pending = Vec::new();
    for input in &inputs {
        scan_input(input, opts.as_of, &bar, &mut state, &mut pending);
    }
    let duplicates = drop_duplicates(&inputs, &mut pending);
    pending.sort_unstable();
    let mut latest: Option<Millis> = None;
    for p in &pending {
        let input = &inputs[p.file()];
        let line = input.line_at(p.offset as usize);
        bar.inc(line.len() as u64 + 1);
        // The line decoded in the first pass, so it decodes again.
        let Ok(event) = decode(input.kind, strip_bom(line, p.line)) else {
            continue;
        };
        match engine.process(event) {
            Ok(()) => latest = Some(p.time),
            Err(e) => state.reject(input, p.line, e.to_string()),
        }
    }
    bar.finish();
    // The default end: the greatest time of the events applied (not of bad input, nor of a
    // repeat, which changes nothing).
    let as_of = opts.as_of.or(latest);
    if let Some(t) = as_of {
        engine.advance_to(t);
    }
    write_dead_letters(&opts.out, &mut state.dead)?;
    let written = write_outputs(&opts.out, &engine, as_of)?;
    // Duplicates are counted as events of their input, as the engine counts them.
    let mut counters = engine.counters();
    counters.confirmations += duplicates[Kind::Confirmation as usize];
    counters.scans += duplicates[Kind::Scan as usize];
    counters.duplicates += duplicates.iter().sum::<u64>();
    Ok(ReplaySummary {
        as_of,
        lines: state.lines,
        dead_letters: state.dead.len() as u64,
        after_as_of: state.after_as_of,
        counters,
        by_status: written.by_status,
        seller_rows: written.seller_rows,
        at_risk_rows: written.at_risk_rows,
        late_confirmations: written.late_confirmations,
        seconds: started.elapsed().as_secs_f64(),
        state: engine.state_stats(),
    })
}

/// One input file, mapped into memory.
struct Input {
    name: String,
    kind: Kind,
    bytes: InputBytes,
}

/// An input's bytes: a regular file mapped into memory, or a stream (a pipe, `/dev/stdin`)
/// read into memory, since a replay reads its input twice.
enum InputBytes {
    Empty,
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl Input {
    fn open(path: &Path, kind: Kind) -> Result<Input, ReplayError> {
        let flag = match kind {
            Kind::Confirmation => "confirmations",
            Kind::Scan => "scans",
        };
        let input_err = |source| ReplayError::Input {
            flag,
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(input_err)?;
        let meta = file.metadata().map_err(input_err)?;
        let bytes = if meta.is_dir() {
            return Err(ReplayError::Directory {
                flag,
                path: path.to_path_buf(),
            });
        } else if !meta.is_file() {
            let mut read = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut read).map_err(input_err)?;
            InputBytes::Read(read)
        } else if meta.len() == 0 {
            InputBytes::Empty
        } else {
            // SAFETY: the map is only read; like any reader of a file, a replay whose input
            // is rewritten while it runs reads whatever the file then holds.
            InputBytes::Mapped(unsafe { memmap2::Mmap::map(&file) }.map_err(input_err)?)
        };
        Ok(Input {
            name: path.display().to_string(),
            kind,
            bytes,
        })
    }

    fn bytes(&self) -> &[u8] {
        match &self.bytes {
            InputBytes::Empty => &[],
            InputBytes::Mapped(map) => map,
            InputBytes::Read(read) => read,
        }
    }

    /// The line starting at `offset`, without its line feed.
    fn line_at(&self, offset: usize) -> &[u8] {
        let rest = &self.bytes()[offset..];
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        &rest[..end]
    }
}

/// A valid event waiting to be applied: its place in the canonical order and its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    time: Millis,
    /// The input (top bit: 0 confirmations, 1 scans), then the event id's hash.
    kind_and_id: u64,
    /// The line number in its file (1-based).
    line: u64,
    /// Where the line starts in its file.
    offset: u64,
}

impl Pending {
    /// The input: index in the replay's inputs (confirmations, scans).
    fn file(&self) -> usize {
        (self.kind_and_id >> 63) as usize
    }
}

#[derive(Default)]
struct ReadState {
    lines: u64,
    dead: Vec<(usize, DeadLetter)>,
    after_as_of: u64,
}

impl ReadState {
    fn reject(&mut self, input: &Input, line: u64, error: String) {
        let file = input.kind as usize;
        let dead = DeadLetter {
            file: input.name.clone(),
            line,
            error,
        };
        self.dead.push((file, dead));
    }
}

/// The first pass over one input: counts and checks every line, rejects the bad ones, and
/// notes the valid events up to `as_of`.
fn scan_input(
    input: &Input,
    as_of: Option<Millis>,
    bar: &Progress,
    st: &mut ReadState,
    pending: &mut Vec<Pending>,
) {
    let bytes = input.bytes();
    let mut offset = 0usize;
    for (i, raw) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let start = offset;
        offset += raw.len();
        bar.inc(raw.len() as u64);
        let number = i as u64 + 1;
        if strip_bom(raw, number)
            .iter()
            .all(|b| b.is_ascii_whitespace())
        {
            continue;
        }
        st.lines += 1;
        let line = raw.strip_suffix(b"\n").unwrap_or(raw);
        let event = match decode(input.kind, strip_bom(line, number)) {
            Ok(e) => e,
            Err(e) => {
                st.reject(input, number, e.to_string());
                continue;
            }
        };
        let t = event.event_time();
        if as_of.is_some_and(|a| t > a) {
            st.after_as_of += 1;
            continue;
        }
        pending.push(Pending {
            time: t,
            kind_and_id: ((input.kind as u64) << 63) | (event_id_hash(event.event_id()) >> 1),
            line: number,
            offset: start as u64,
        });
    }
}

/// Drops every repeat of an event id within its input (contract: "a repeated event_id is a
/// duplicate and changes nothing"), exactly: events of the same input whose ids hash alike are
/// compared by id. Of the events with one id, the one kept is the first in the canonical
/// order (earliest event time, then smallest line bytes), so which one is kept does not depend
/// on the order of the lines either. Returns how many were dropped, per input.
fn drop_duplicates(inputs: &[Input; 2], pending: &mut Vec<Pending>) -> [u64; 2] {
    pending.sort_unstable_by_key(|p| (p.kind_and_id, p.time, p.line));
    let mut dropped = [0u64; 2];
    let mut start = 0;
    while start < pending.len() {
        let same_hash = pending[start..]
            .iter()
            .take_while(|p| p.kind_and_id == pending[start].kind_and_id)
            .count();
        if same_hash > 1 {
            let group = &mut pending[start..start + same_hash];
            dropped[group[0].file()] += mark_repeats(inputs, group);
        }
        start += same_hash;
    }
    pending.retain(|p| p.offset != DROPPED);
    dropped
}

/// Marks as [`DROPPED`] every event of `group` (events of one input whose ids hash alike,
/// sorted by time) that repeats the id of an event before it in the canonical order.
fn mark_repeats(inputs: &[Input; 2], group: &mut [Pending]) -> u64 {
    let line = |p: &Pending| inputs[p.file()].line_at(p.offset as usize);
    let id = |p: &Pending| {
        let input = &inputs[p.file()];
        decode(input.kind, strip_bom(line(p), p.line))
            .map(|e| e.event_id().to_string())
            .unwrap_or_default()
    };
    // Equal times are ordered by their lines' bytes, not by where the lines are.
    group.sort_by(|a, b| (a.time, line(a)).cmp(&(b.time, line(b))));
    let ids: Vec<String> = group.iter().map(id).collect();
    let mut dropped = 0;
    for (i, p) in group.iter_mut().enumerate() {
        if ids[..i].contains(&ids[i]) {
            p.offset = DROPPED;
            dropped += 1;
        }
    }
    dropped
}

/// [`Pending::offset`] of a dropped duplicate.
const DROPPED: u64 = u64::MAX;

/// A byte-order mark (some editors write one) is not part of the first event.
fn strip_bom(line: &[u8], number: u64) -> &[u8] {
    match line.strip_prefix(b"\xef\xbb\xbf") {
        Some(rest) if number == 1 => rest,
        _ => line,
    }
}

/// Writes the bad lines, by file and line number.
fn write_dead_letters(out: &Path, dead: &mut [(usize, DeadLetter)]) -> Result<(), ReplayError> {
    dead.sort_by_key(|(file, d)| (*file, d.line));
    let mut w = Writer::create(&out.join("dead_letters.ndjson"))?;
    for (_, d) in dead.iter() {
        w.write(d)?;
    }
    w.finish()
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

/// Inputs shorter than this show no progress.
const LONG_INPUT_BYTES: u64 = 8 << 20;

/// Progress of a replay over `total` bytes (both passes).
struct Progress {
    bar: ProgressBar,
    /// With [`ShowProgress::Lines`]: the next tenth to report (the bytes done are the bar's
    /// position, hidden or not).
    lines: Option<std::cell::Cell<u64>>,
    total: u64,
}

impl Progress {
    fn new(show: ShowProgress, total: u64) -> Progress {
        let show = if total < LONG_INPUT_BYTES {
            ShowProgress::Off
        } else {
            show
        };
        let bar = match show {
            ShowProgress::Bar => ProgressBar::new(total),
            ShowProgress::Off | ShowProgress::Lines => ProgressBar::hidden(),
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} replay [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        let lines = (show == ShowProgress::Lines).then(|| std::cell::Cell::new(1));
        Progress { bar, lines, total }
    }

    /// `bytes` more done.
    fn inc(&self, bytes: u64) {
        self.bar.inc(bytes);
        let Some(lines) = &self.lines else {
            return;
        };
        let done = self.bar.position();
        let mut tenth = lines.get();
        while tenth <= 10 && done.saturating_mul(10) >= tenth * self.total {
            eprintln!(
                "replay: {}% ({} of {} MiB read, inputs are read twice)",
                tenth * 10,
                done >> 20,
                self.total >> 20
            );
            tenth += 1;
        }
        lines.set(tenth);
    }

    /// The work is done (the second pass skips lines that were bad, repeated or after
    /// `--as-of`, so it may not have counted every byte).
    fn finish(&self) {
        if self.lines.is_some() {
            self.inc(self.total.saturating_sub(self.bar.position()));
        }
        self.bar.finish_and_clear();
    }
}
