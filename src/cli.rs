//! The command line: `vtrack run | replay | generate | demo`.

use crate::config::Config;
use crate::event::Millis;
use crate::generate::GenerateOptions;
use crate::replay::{replay, ReplayOptions, ShowProgress};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

/// vtrack: which sellers ship with valid tracking, continuously.
#[derive(Debug, Parser)]
#[command(name = "vtrack", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The Kafka consumer-group processor.
    Run(ConfigArgs),
    /// The engine on NDJSON files, no Kafka.
    Replay(ReplayArgs),
    /// Synthetic confirmations and scans, as NDJSON files and/or into the Kafka input topics.
    Generate(GenerateArgs),
    /// Generate a marketplace in memory, run the engine, show the outcome.
    Demo(DemoArgs),
}

/// The configuration flags every command takes: the file, then single keys over it (and over
/// the `VTRACK_<SECTION>_<KEY>` variables).
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigArgs {
    /// Configuration file (default: built-in defaults; `config/vtrack.toml` documents every key).
    #[arg(long, env = "VTRACK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Sets one configuration key over the file and the environment, e.g.
    /// `--set engine.horizon=30d` or `--set kafka.properties.security.protocol=SSL`
    /// (repeatable).
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    pub set: Vec<String>,
}

impl ConfigArgs {
    /// The configuration these flags give.
    pub fn load(&self) -> Result<Config> {
        Ok(Config::load(self.config.as_deref(), &self.set)?)
    }
}

/// `vtrack replay` flags.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// NDJSON shipment confirmations.
    #[arg(long)]
    pub confirmations: PathBuf,
    /// NDJSON carrier scans.
    #[arg(long)]
    pub scans: PathBuf,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Event time at the end (RFC 3339 or epoch millis); default the greatest event time in the input.
    #[arg(long, value_parser = parse_time)]
    pub as_of: Option<Millis>,
    /// Configuration.
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Workload shape shared by `generate` and `demo`.
#[derive(Debug, Args, Clone)]
pub struct WorkloadArgs {
    /// Packages to generate.
    #[arg(long)]
    pub packages: Option<u64>,
    /// Sellers (at least 1).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub sellers: Option<u32>,
    /// Random seed: the same seed gives the same events.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// First confirmation time (RFC 3339 or epoch millis).
    #[arg(long, value_parser = parse_time)]
    pub start: Option<Millis>,
    /// Days over which confirmations are spread (at least 1).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub days: Option<u32>,
    /// Fraction of events sent twice, from 0 to 1.
    #[arg(long, value_parser = parse_fraction)]
    pub duplicate_rate: Option<f64>,
    /// Largest displacement of an event from event-time order, e.g. `30m` (default) or `0s`
    /// for events in order.
    #[arg(long, value_parser = parse_duration)]
    pub disorder: Option<Millis>,
    /// How often each scenario happens, as `NAME=RATE` pairs separated by commas (repeatable),
    /// e.g. `--mix missing_tracking=0.05,wrong_carrier=0.02`. Names: the scenarios
    /// `generate` lists (rates per package; `cancelled_*` per order), `multi_package` (per
    /// order), `mediocre_sellers`, `bad_sellers` (shares of sellers), `mediocre_factor`,
    /// `bad_factor` (how many times a good seller's mistakes they make). `--mix none` sets
    /// every scenario rate to 0 first (only clean shipments, unless named after it).
    #[arg(long, value_delimiter = ',')]
    pub mix: Vec<String>,
}

/// Parses a fraction from 0 to 1.
fn parse_fraction(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|f| (0.0..=1.0).contains(f))
        .ok_or_else(|| format!("`{s}` is not a fraction from 0 to 1"))
}

/// Parses a duration such as `30m`, `2h`, `1500ms` (the configuration file's syntax).
fn parse_duration(s: &str) -> Result<Millis, String> {
    crate::config::parse_duration(s)
        .ok_or_else(|| format!("`{s}` is not a duration (a number and a unit: ms, s, m, h, d)"))
}

/// `vtrack generate` flags: files (`--confirmations` and `--scans`), `--kafka`, or both.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("destination")
        .required(true)
        .multiple(true)
        .args(["confirmations", "scans", "kafka"])
))]
pub struct GenerateArgs {
    /// Output NDJSON file of shipment confirmations (with --scans).
    #[arg(long, requires = "scans")]
    pub confirmations: Option<PathBuf>,
    /// Output NDJSON file of carrier scans (with --confirmations).
    #[arg(long, requires = "confirmations")]
    pub scans: Option<PathBuf>,
    /// Write the events into the configured Kafka input topics (`kafka.confirmations_topic`,
    /// `kafka.scans_topic`), creating them when missing and `kafka.create_topics` allows.
    #[arg(long)]
    pub kafka: bool,
    /// With --kafka: write at most this many events per second (default: as fast as the
    /// broker takes them), e.g. to measure latency at a steady load.
    #[arg(long, requires = "kafka")]
    pub rate: Option<f64>,
    /// Configuration, for --kafka (default: built-in defaults, broker 127.0.0.1:9092).
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Encoding of the Kafka messages (files are always NDJSON).
    #[arg(long, value_enum, default_value_t = MessageFormat::Json)]
    pub format: MessageFormat,
    /// Workload shape.
    #[command(flatten)]
    pub workload: WorkloadArgs,
}

/// Encoding of generated Kafka messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageFormat {
    /// One JSON object per message.
    Json,
    /// The protobuf messages of `proto/vtrack.proto`.
    Protobuf,
}

impl MessageFormat {
    /// The flag value: `json` or `protobuf`.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageFormat::Json => "json",
            MessageFormat::Protobuf => "protobuf",
        }
    }
}

impl From<MessageFormat> for crate::codec::Format {
    fn from(f: MessageFormat) -> crate::codec::Format {
        match f {
            MessageFormat::Json => crate::codec::Format::Json,
            MessageFormat::Protobuf => crate::codec::Format::Protobuf,
        }
    }
}

/// `vtrack demo` flags.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Workload shape (default 200,000 packages, 400 sellers).
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// Sellers to list.
    #[arg(long, default_value_t = 15)]
    pub worst: usize,
    /// Configuration.
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Parses RFC 3339 (with offset) or epoch milliseconds.
/// Only times in the years 0001 to 9999 are taken, as in the input events.
pub fn parse_time(s: &str) -> Result<Millis, String> {
    let t = match s.parse::<Millis>() {
        Ok(ms) => ms,
        Err(_) => crate::timestamp::parse_rfc3339(s).ok_or_else(|| {
            format!("`{s}` is neither RFC 3339 with an offset nor epoch milliseconds")
        })?,
    };
    if !crate::codec::representable(t) {
        return Err(format!("`{s}` is out of range (years 0001 to 9999)"));
    }
    Ok(t)
}

impl WorkloadArgs {
    /// The generator options these flags ask for, over `defaults` (`--mix` settings applied
    /// in order).
    pub fn options(&self, defaults: GenerateOptions) -> Result<GenerateOptions> {
        let mut o = defaults;
        o.seed = self.seed;
        if let Some(v) = self.packages {
            o.packages = v;
        }
        if let Some(v) = self.sellers {
            o.sellers = v;
        }
        if let Some(v) = self.start {
            o.start = v;
        }
        if let Some(v) = self.days {
            o.days = v;
        }
        if let Some(v) = self.duplicate_rate {
            o.duplicate_rate = v;
        }
        if let Some(v) = self.disorder {
            o.disorder = v;
        }
        for item in &self.mix {
            if item == "none" {
                o.mix = crate::generate::FailureMix::none();
                continue;
            }
            let (name, rate) = item
                .split_once('=')
                .with_context(|| format!("--mix `{item}`: expected NAME=RATE or none"))?;
            let rate: f64 = rate
                .trim()
                .parse()
                .ok()
                .filter(|r: &f64| r.is_finite() && *r >= 0.0)
                .with_context(|| format!("--mix `{item}`: the rate must be a number >= 0"))?;
            o.mix
                .set(name.trim(), rate)
                .map_err(|e| anyhow::anyhow!("--mix `{item}`: {e}"))?;
        }
        o.check_time_range().map_err(anyhow::Error::msg)?;
        Ok(o)
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(config) => run_processor(&config),
        Command::Replay(a) => run_replay(a),
        Command::Generate(a) => run_generate(a),
        Command::Demo(a) => run_demo(a),
    }
}

#[cfg(not(feature = "kafka"))]
fn run_processor(_config: &ConfigArgs) -> Result<()> {
    bail!("this vtrack was built without Kafka support: rebuild with the default feature `kafka`")
}

#[cfg(feature = "kafka")]
fn run_processor(config: &ConfigArgs) -> Result<()> {
    let config = config.load()?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .context("installing the signal handlers")?;
    }
    crate::kafka::processor::run(config.clone(), stop)
        .map_err(|e| redacted(&config.kafka, anyhow::Error::from(e)))
}

/// An error whose text is scrubbed of the secret client properties' values.
#[cfg(feature = "kafka")]
fn redacted(kafka: &crate::config::KafkaConfig, e: anyhow::Error) -> anyhow::Error {
    anyhow::anyhow!(kafka.redact(&format!("{e:#}")))
}

/// Writes `text` to standard output. A reader that went away (`vtrack replay … | head -1`)
/// is not an error: the work is done and its files are written.
fn say(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.context("writing to standard output"),
    }
}

fn run_replay(a: ReplayArgs) -> Result<()> {
    let config = a.config.load()?;
    let carriers = Arc::new(config.carrier_registry()?);
    let opts = ReplayOptions {
        confirmations: a.confirmations,
        scans: a.scans,
        out: a.out,
        as_of: a.as_of,
        progress: if std::io::stderr().is_terminal() {
            ShowProgress::Bar
        } else {
            ShowProgress::Lines
        },
    };
    let summary = replay(&opts, &config.engine, carriers)?;
    let applied = summary.counters.confirmations + summary.counters.scans;
    if let (Some(t), true) = (opts.as_of, applied == 0 && summary.after_as_of > 0) {
        eprintln!(
            "warning: all {} valid events lie after --as-of {} (epoch milliseconds, or RFC 3339 with an offset), so nothing was applied",
            summary.after_as_of,
            crate::timestamp::format_rfc3339(t)
        );
    }
    say(&format!(
        "{}\nwrote {}\n",
        summary.render(),
        opts.out.display()
    ))
}

/// True when two paths name one regular file (or one not there yet): the same name in the same
/// directory, however written. A device such as `/dev/null` may take both outputs.
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    let device = |p: &std::path::Path| std::fs::metadata(p).is_ok_and(|m| !m.is_file());
    if device(a) && device(b) {
        return false;
    }
    let place = |p: &std::path::Path| {
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        std::fs::canonicalize(dir)
            .ok()
            .zip(p.file_name())
            .map(|(d, f)| d.join(f))
    };
    a == b || matches!((place(a), place(b)), (Some(x), Some(y)) if x == y)
}

fn run_generate(a: GenerateArgs) -> Result<()> {
    // Read even when only files are written: a configuration that cannot be read is an error
    // whatever the outputs.
    a.config.load()?;
    let opts = a.workload.options(GenerateOptions::default())?;
    let stats = match (&a.confirmations, &a.scans) {
        (Some(confirmations), Some(scans)) if same_file(confirmations, scans) => {
            bail!("--confirmations and --scans name the same file: give two files")
        }
        (Some(confirmations), Some(scans)) => Some(generate_files(&opts, confirmations, scans)?),
        (None, None) if a.kafka => None,
        _ => bail!("say where to write: --confirmations FILE --scans FILE, and/or --kafka"),
    };
    let stats = if a.kafka {
        generate_kafka(&opts, &a.config, a.format, a.rate)?
    } else {
        stats.context("nothing was generated")?
    };
    let mut text = String::from("scenarios:\n");
    for s in crate::generate::Scenario::ALL {
        let n = stats.scenario(s);
        if n > 0 {
            text += &format!("  {:<32} {n}\n", s.as_str());
        }
    }
    say(&text)
}

fn generate_files(
    opts: &GenerateOptions,
    confirmations_path: &std::path::Path,
    scans_path: &std::path::Path,
) -> Result<crate::generate::GenerateStats> {
    let create = |p: &std::path::Path| {
        std::fs::File::create(p)
            .map(|f| std::io::BufWriter::with_capacity(1 << 20, f))
            .with_context(|| format!("cannot create {}", p.display()))
    };
    let mut confirmations = create(confirmations_path)?;
    let mut scans = create(scans_path)?;
    let started = std::time::Instant::now();
    let stats = crate::generate::write_ndjson(opts, &mut confirmations, &mut scans)
        .context("writing the generated events")?;
    say(&format!(
        "wrote {} confirmations to {} and {} scans to {} ({} packages, {} orders, {} duplicates) in {:.1} s\n",
        stats.confirmations,
        confirmations_path.display(),
        stats.scans,
        scans_path.display(),
        stats.packages,
        stats.orders,
        stats.duplicates,
        started.elapsed().as_secs_f64()
    ))?;
    Ok(stats)
}

#[cfg(not(feature = "kafka"))]
fn generate_kafka(
    _opts: &GenerateOptions,
    _config: &ConfigArgs,
    _format: MessageFormat,
    _rate: Option<f64>,
) -> Result<crate::generate::GenerateStats> {
    bail!("this vtrack was built without Kafka support: rebuild with the default feature `kafka`")
}

#[cfg(feature = "kafka")]
fn generate_kafka(
    opts: &GenerateOptions,
    config: &ConfigArgs,
    format: MessageFormat,
    rate: Option<f64>,
) -> Result<crate::generate::GenerateStats> {
    let config = config.load()?;
    let kafka = &config.kafka;
    let started = std::time::Instant::now();
    let stats = crate::kafka::produce::produce_workload(kafka, opts, format.into(), rate)
        .with_context(|| {
            format!(
                "writing the generated events to Kafka at {}",
                kafka.bootstrap_servers
            )
        })
        .map_err(|e| redacted(kafka, e))?;
    let secs = started.elapsed().as_secs_f64();
    say(&format!(
        "produced {} confirmations to topic {} and {} scans to topic {} ({} packages, {} orders, {} duplicates, {}) in {:.1} s: {:.0} events/s\n",
        stats.confirmations,
        kafka.confirmations_topic,
        stats.scans,
        kafka.scans_topic,
        stats.packages,
        stats.orders,
        stats.duplicates,
        format.as_str(),
        secs,
        stats.events() as f64 / secs.max(1e-9)
    ))?;
    Ok(stats)
}

fn run_demo(a: DemoArgs) -> Result<()> {
    let config = a.config.load()?;
    let carriers = Arc::new(config.carrier_registry()?);
    let defaults = GenerateOptions {
        packages: 200_000,
        sellers: 400,
        ..GenerateOptions::default()
    };
    let gen = a.workload.options(defaults)?;
    if gen.packages == 0 {
        bail!("--packages must be at least 1: a demo of no packages shows nothing");
    }
    let report = crate::demo::run_demo(&gen, &config.engine, carriers);
    say(&report.render(a.worst))
}
