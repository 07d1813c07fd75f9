//! The figures: one [`Sample`] per subject and run, their medians, the table,
//! the differences, the targets and the JSON; and the memory of concurrent
//! bridges ([`Memory`], measured once by [`crate::memory`]).

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::memory::Footprint;

/// The targets Tether is held to (against direct, on the same machine and
/// run, so that the machine's speed cancels out).
const SPAWN_MARGIN_MS: f64 = 15.0;
const CALL_P50_MARGIN_MS: f64 = 0.15;
const RSS_LIMIT_MB: f64 = 8.0;
/// The standard's measure of memory per bridge: PSS across several
/// concurrent bridges.
const PSS_LIMIT_MB: f64 = 8.0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Subject {
    Direct,
    Tether,
    McpRemote,
}

impl Subject {
    pub const ALL: [Self; 3] = [Self::Direct, Self::Tether, Self::McpRemote];

    pub fn name(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Tether => "tether",
            Self::McpRemote => "mcp-remote",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One subject's figures from one run.
#[derive(Clone, Debug)]
pub struct Sample {
    pub spawn_to_list_ms: f64,
    pub call_p50_ms: f64,
    pub call_p99_ms: f64,
    pub peak_rss_mb: Option<f64>,
    pub eof_to_exit_ms: f64,
}

impl Sample {
    pub fn new(spawn_to_list: Duration, mut calls: Vec<Duration>, peak_rss_mb: Option<f64>, exit: Duration) -> Self {
        calls.sort_unstable();
        Self {
            spawn_to_list_ms: ms(spawn_to_list),
            call_p50_ms: percentile(&calls, 0.50),
            call_p99_ms: percentile(&calls, 0.99),
            peak_rss_mb,
            eof_to_exit_ms: ms(exit),
        }
    }
}

#[derive(Clone, Copy)]
enum Metric {
    SpawnToList,
    CallP50,
    CallP99,
    PeakRss,
    EofToExit,
}

impl Metric {
    const ALL: [Self; 5] = [
        Self::SpawnToList,
        Self::CallP50,
        Self::CallP99,
        Self::PeakRss,
        Self::EofToExit,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::SpawnToList => "spawn → tools/list (ms)",
            Self::CallP50 => "call p50 (ms)",
            Self::CallP99 => "call p99 (ms)",
            Self::PeakRss => "peak RSS (MB)",
            Self::EofToExit => "stdin EOF → exit (ms)",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::SpawnToList => "spawn_to_tools_list_ms",
            Self::CallP50 => "call_p50_ms",
            Self::CallP99 => "call_p99_ms",
            Self::PeakRss => "peak_rss_mb",
            Self::EofToExit => "eof_to_exit_ms",
        }
    }

    fn decimals(self) -> usize {
        match self {
            Self::CallP50 | Self::CallP99 => 3,
            Self::EofToExit => 2,
            Self::SpawnToList | Self::PeakRss => 1,
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Self::PeakRss => "MB",
            _ => "ms",
        }
    }

    fn of(self, s: &Sample) -> Option<f64> {
        match self {
            Self::SpawnToList => Some(s.spawn_to_list_ms),
            Self::CallP50 => Some(s.call_p50_ms),
            Self::CallP99 => Some(s.call_p99_ms),
            Self::PeakRss => s.peak_rss_mb,
            Self::EofToExit => Some(s.eof_to_exit_ms),
        }
    }

    fn fmt(self, v: f64) -> String {
        format!("{v:.*}", self.decimals())
    }
}

/// Versions and the machine, printed above the table.
pub struct Setting {
    pub tether: String,
    pub node: String,
    pub mcp_remote: String,
    pub server_everything: String,
    pub cpus: usize,
}

/// What each of `bridges` concurrent, idle bridges held, per subject.
pub struct Memory {
    pub bridges: usize,
    /// Echo calls each bridge made before it was measured.
    pub calls: usize,
    pub tether: Footprint,
    pub mcp_remote: Footprint,
    /// The `--baseline` tether's, when one was given.
    pub baseline: Option<Footprint>,
}

#[derive(Clone, Copy)]
enum Held {
    Pss,
    Private,
    Rss,
}

impl Held {
    const ALL: [Self; 3] = [Self::Pss, Self::Private, Self::Rss];

    fn label(self) -> &'static str {
        match self {
            Self::Pss => "PSS per bridge (MB)",
            Self::Private => "private per bridge (MB)",
            Self::Rss => "RSS per bridge (MB)",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::Pss => "pss_mb",
            Self::Private => "private_mb",
            Self::Rss => "rss_mb",
        }
    }

    fn of(self, f: &Footprint) -> &[f64] {
        match self {
            Self::Pss => &f.pss_mb,
            Self::Private => &f.private_mb,
            Self::Rss => &f.rss_mb,
        }
    }
}

impl Memory {
    /// The subjects, in the table's order.
    fn subjects(&self) -> Vec<(&'static str, &Footprint)> {
        let mut v = vec![("tether", &self.tether), ("mcp-remote", &self.mcp_remote)];
        if let Some(b) = &self.baseline {
            v.push(("baseline", b));
        }
        v
    }

    fn text(&self, w: &mut String) {
        let subjects = self.subjects();
        let _ = write!(w, "  {:<26}", format!("memory, {} bridges at once", self.bridges));
        for (name, _) in &subjects {
            let _ = write!(w, "{name:>12}");
        }
        let _ = writeln!(w);
        for held in Held::ALL {
            let _ = write!(w, "  {:<26}", held.label());
            for (_, f) in &subjects {
                let _ = write!(w, "{:>12.1}", mean(held.of(f)));
            }
            let _ = writeln!(w);
        }
        let _ = writeln!(
            w,
            "  Means over the {} bridges, each idle after tools/list and {} echo calls, from /proc/<pid>/smaps_rollup;",
            self.bridges, self.calls
        );
        let _ = writeln!(
            w,
            "  private = Private_Clean + Private_Dirty. server-everything shares node's pages with mcp-remote."
        );
        let _ = writeln!(w);
    }

    fn json(&self) -> Value {
        let mut subjects = serde_json::Map::new();
        for (name, f) in self.subjects() {
            let mut figures = serde_json::Map::new();
            for held in Held::ALL {
                let v = held.of(f);
                figures.insert(
                    held.key().to_owned(),
                    json!({"mean": round(mean(v), 4), "bridges": rounded(v)}),
                );
            }
            subjects.insert(name.to_owned(), Value::Object(figures));
        }
        let (t, m) = (mean(&self.tether.pss_mb), mean(&self.mcp_remote.pss_mb));
        json!({
            "concurrent_bridges": self.bridges,
            "calls_per_bridge": self.calls,
            "measured": "/proc/<pid>/smaps_rollup of each bridge process, all alive and idle; private = Private_Clean + Private_Dirty",
            "subjects": subjects,
            "mcp_remote_vs_tether": {"pss_difference": round(m - t, 4), "pss_ratio": round(m / t, 3)},
        })
    }
}

/// Everything one benchmark run measured.
pub struct Report {
    pub setting: Setting,
    pub runs: u32,
    pub warmup: u32,
    pub calls: u32,
    samples: [Vec<Sample>; 3],
    /// Round trips through `cat` per run: (p50, p99) in ms.
    floor: Vec<(f64, f64)>,
    memory: Option<Memory>,
}

struct Target {
    name: &'static str,
    value: f64,
    limit: f64,
    unit: &'static str,
    shown: String,
}

impl Report {
    pub fn new(setting: Setting, runs: u32, warmup: u32, calls: u32) -> Self {
        Self {
            setting,
            runs,
            warmup,
            calls,
            samples: Default::default(),
            floor: Vec::new(),
            memory: None,
        }
    }

    pub fn set_memory(&mut self, memory: Memory) {
        self.memory = Some(memory);
    }

    pub fn add(&mut self, subject: Subject, sample: Sample) {
        self.samples[subject.index()].push(sample);
    }

    pub fn add_floor(&mut self, mut trips: Vec<Duration>) {
        trips.sort_unstable();
        self.floor.push((percentile(&trips, 0.50), percentile(&trips, 0.99)));
    }

    fn values(&self, subject: Subject, metric: Metric) -> Vec<f64> {
        self.samples[subject.index()]
            .iter()
            .filter_map(|s| metric.of(s))
            .collect()
    }

    fn median(&self, subject: Subject, metric: Metric) -> Option<f64> {
        median(&self.values(subject, metric))
    }

    /// The median of a metric that every subject but direct's RSS has.
    fn m(&self, subject: Subject, metric: Metric) -> f64 {
        self.median(subject, metric).unwrap_or(f64::NAN)
    }

    fn targets(&self) -> Vec<Target> {
        use Subject::{Direct, Tether};
        let spawn = self.m(Tether, Metric::SpawnToList) - self.m(Direct, Metric::SpawnToList);
        let p50 = self.m(Tether, Metric::CallP50) - self.m(Direct, Metric::CallP50);
        let rss = self.m(Tether, Metric::PeakRss);
        let mut targets = vec![
            Target {
                name: "tether spawn → tools/list within 15 ms of direct",
                value: spawn,
                limit: SPAWN_MARGIN_MS,
                unit: "ms",
                shown: format!("{spawn:+.1} ms"),
            },
            Target {
                name: "tether call p50 within 0.15 ms of direct",
                value: p50,
                limit: CALL_P50_MARGIN_MS,
                unit: "ms",
                shown: format!("{p50:+.3} ms"),
            },
            Target {
                name: "tether peak RSS under 8 MB",
                value: rss,
                limit: RSS_LIMIT_MB,
                unit: "MB",
                shown: format!("{rss:.1} MB"),
            },
        ];
        if let Some(memory) = &self.memory {
            let pss = mean(&memory.tether.pss_mb);
            targets.push(Target {
                name: "tether PSS per bridge under 8 MB",
                value: pss,
                limit: PSS_LIMIT_MB,
                unit: "MB",
                shown: format!("{pss:.1} MB ({} at once)", memory.bridges),
            });
        }
        targets
    }

    /// The report for a person, for stdout.
    pub fn text(&self) -> String {
        use Subject::{Direct, McpRemote, Tether};
        let s = &self.setting;
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "Tether benchmark: loopback, @modelcontextprotocol/server-everything {} over Streamable HTTP",
            s.server_everything
        );
        let _ = writeln!(
            w,
            "  {} · mcp-remote {} on node {} · {} CPUs",
            s.tether, s.mcp_remote, s.node, s.cpus
        );
        let _ = writeln!(
            w,
            "  {} runs after {} unmeasured warm-up run(s); {} echo calls per run and subject; subjects interleaved",
            self.runs, self.warmup, self.calls
        );
        let _ = writeln!(w);

        let _ = writeln!(
            w,
            "  {:<26}{:>12}{:>12}{:>12}",
            "medians over the runs", "direct", "tether", "mcp-remote"
        );
        for metric in Metric::ALL {
            let _ = write!(w, "  {:<26}", metric.label());
            for subject in Subject::ALL {
                let cell = self
                    .median(subject, metric)
                    .map_or_else(|| "–".to_owned(), |v| metric.fmt(v));
                let mark = if subject == Direct && matches!(metric, Metric::EofToExit) {
                    "*"
                } else {
                    " "
                };
                let _ = write!(w, "{cell:>11}{mark}");
            }
            trim_end(w);
            let _ = writeln!(w);
        }
        let _ = writeln!(
            w,
            "  * direct has no process to end: its figure is the DELETE of the session, which the bridges also send."
        );
        let _ = writeln!(w);
        if let Some(memory) = &self.memory {
            memory.text(w);
        }

        let _ = writeln!(
            w,
            "  {:<26}{:>17}{:>17}{:>17}",
            "spread (min–max of runs)", "direct", "tether", "mcp-remote"
        );
        for metric in Metric::ALL {
            let _ = write!(w, "  {:<26}", metric.label());
            for subject in Subject::ALL {
                let v = self.values(subject, metric);
                let cell = match (min(&v), max(&v)) {
                    (Some(lo), Some(hi)) => format!("{}–{}", metric.fmt(lo), metric.fmt(hi)),
                    _ => "–".to_owned(),
                };
                let _ = write!(w, "{cell:>17}");
            }
            let _ = writeln!(w);
        }
        let _ = writeln!(w);

        let _ = writeln!(w, "  Against direct, the physical limit (differences of the medians)");
        for metric in [Metric::SpawnToList, Metric::CallP50, Metric::CallP99] {
            let (d, t, m) = (
                self.m(Direct, metric),
                self.m(Tether, metric),
                self.m(McpRemote, metric),
            );
            let tether = format!("tether {}", signed(metric, t - d, t / d));
            let _ = writeln!(
                w,
                "    {:<22}{tether:<30}mcp-remote {}",
                short_label(metric),
                signed(metric, m - d, m / d)
            );
        }
        let _ = writeln!(w);
        let _ = writeln!(w, "  Tether against mcp-remote");
        for metric in [Metric::SpawnToList, Metric::CallP50, Metric::CallP99, Metric::EofToExit] {
            let (t, m) = (self.m(Tether, metric), self.m(McpRemote, metric));
            let _ = writeln!(w, "    {:<22}{}", short_label(metric), versus(metric, t, m));
        }
        let (t, m) = (self.m(Tether, Metric::PeakRss), self.m(McpRemote, Metric::PeakRss));
        let _ = writeln!(
            w,
            "    {:<22}tether {t:.1} MB, mcp-remote {m:.1} MB ({} less)",
            "peak RSS",
            ratio(m / t)
        );
        if let Some(memory) = &self.memory {
            let (t, m) = (mean(&memory.tether.pss_mb), mean(&memory.mcp_remote.pss_mb));
            let _ = writeln!(
                w,
                "    {:<22}tether {t:.1} MB, mcp-remote {m:.1} MB ({} less)",
                "PSS per bridge",
                ratio(m / t)
            );
        }
        let _ = writeln!(w);
        if let (Some(p50), Some(p99)) = (
            median(&self.floor.iter().map(|f| f.0).collect::<Vec<_>>()),
            median(&self.floor.iter().map(|f| f.1).collect::<Vec<_>>()),
        ) {
            let _ = writeln!(
                w,
                "  Stdio floor: a round trip through `cat` takes p50 {p50:.3} ms, p99 {p99:.3} ms; that is the"
            );
            let _ = writeln!(
                w,
                "  driver's and the pipes' share of each bridge's call figures (direct has no pipes)."
            );
            let _ = writeln!(w);
        }

        let _ = writeln!(w, "  Targets");
        for t in self.targets() {
            let verdict = if t.value <= t.limit { "PASS" } else { "MISS" };
            let _ = writeln!(w, "    {verdict}  {:<50} {}", t.name, t.shown);
        }
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "  mcp-remote was started as `node proxy.js` from an installed copy; users who launch it through"
        );
        let _ = writeln!(
            w,
            "  `npx -y mcp-remote` pay more at every start (npx resolves and checks the package before it runs)."
        );
        out
    }

    /// The figures as JSON, for `--json`.
    pub fn json(&self) -> Value {
        use Subject::{Direct, McpRemote, Tether};
        let s = &self.setting;
        let mut subjects = serde_json::Map::new();
        for subject in Subject::ALL {
            let mut figures = serde_json::Map::new();
            for metric in Metric::ALL {
                let values = self.values(subject, metric);
                let figure = match median(&values) {
                    None => Value::Null,
                    Some(m) => json!({"median": round(m, 4), "runs": rounded(&values)}),
                };
                figures.insert(metric.key().to_owned(), figure);
            }
            if subject == Direct {
                figures.insert("eof_to_exit_is".to_owned(), json!("the DELETE of the session"));
            }
            subjects.insert(subject.name().to_owned(), Value::Object(figures));
        }
        let diff = |a: Subject, b: Subject| {
            let mut m = serde_json::Map::new();
            for metric in Metric::ALL {
                let (x, y) = (self.m(a, metric), self.m(b, metric));
                if x.is_finite() && y.is_finite() {
                    m.insert(
                        metric.key().to_owned(),
                        json!({"difference": round(x - y, 4), "ratio": round(x / y, 3)}),
                    );
                }
            }
            Value::Object(m)
        };
        let floor_p50: Vec<f64> = self.floor.iter().map(|f| f.0).collect();
        let floor_p99: Vec<f64> = self.floor.iter().map(|f| f.1).collect();
        let targets: Vec<Value> = self
            .targets()
            .iter()
            .map(|t| {
                json!({
                    "name": t.name,
                    "value": round(t.value, 4),
                    "limit": t.limit,
                    "unit": t.unit,
                    "pass": t.value <= t.limit,
                })
            })
            .collect();
        json!({
            "benchmark": "tether-bench",
            "setting": {
                "tether": s.tether,
                "node": s.node,
                "mcp_remote": s.mcp_remote,
                "server_everything": s.server_everything,
                "cpus": s.cpus,
                "transport": "Streamable HTTP on loopback",
            },
            "runs": self.runs,
            "warmup_runs": self.warmup,
            "calls_per_run": self.calls,
            "units": {"ms": "milliseconds", "MB": "2^20 bytes (peak RSS: VmHWM; memory: smaps_rollup)"},
            "subjects": subjects,
            "stdio_floor": {
                "call_p50_ms": {"median": median(&floor_p50).map(|m| round(m, 4)), "runs": rounded(&floor_p50)},
                "call_p99_ms": {"median": median(&floor_p99).map(|m| round(m, 4)), "runs": rounded(&floor_p99)},
            },
            "differences": {
                "tether_vs_direct": diff(Tether, Direct),
                "mcp_remote_vs_direct": diff(McpRemote, Direct),
                "mcp_remote_vs_tether": diff(McpRemote, Tether),
            },
            "targets": targets,
            "memory": self.memory.as_ref().map(Memory::json),
        })
    }
}

/// Drops the spaces at the end of the text (of the line being written).
fn trim_end(text: &mut String) {
    text.truncate(text.trim_end_matches(' ').len());
}

fn short_label(metric: Metric) -> &'static str {
    match metric {
        Metric::SpawnToList => "spawn → tools/list",
        Metric::CallP50 => "call p50",
        Metric::CallP99 => "call p99",
        Metric::PeakRss => "peak RSS",
        Metric::EofToExit => "stdin EOF → exit",
    }
}

/// `+2.1 ms (1.40x)`.
fn signed(metric: Metric, diff: f64, ratio_: f64) -> String {
    format!("{diff:+.*} {} ({})", metric.decimals(), metric.unit(), ratio(ratio_))
}

/// `404.6 ms faster (52x)`, or slower.
fn versus(metric: Metric, tether: f64, mcp_remote: f64) -> String {
    let (diff, word, r) = if tether <= mcp_remote {
        (mcp_remote - tether, "faster", mcp_remote / tether)
    } else {
        (tether - mcp_remote, "slower", tether / mcp_remote)
    };
    format!("{diff:.*} {} {word} ({})", metric.decimals(), metric.unit(), ratio(r))
}

fn ratio(r: f64) -> String {
    if !r.is_finite() {
        "–".to_owned()
    } else if r >= 10.0 {
        format!("{r:.0}x")
    } else {
        format!("{r:.2}x")
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted durations, in ms.
fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    ms(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        f64::midpoint(v[n / 2 - 1], v[n / 2])
    })
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn min(values: &[f64]) -> Option<f64> {
    values.iter().copied().min_by(f64::total_cmp)
}

fn max(values: &[f64]) -> Option<f64> {
    values.iter().copied().max_by(f64::total_cmp)
}

/// Rounded for the JSON (0.1 µs is far below the noise).
fn round(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

fn rounded(values: &[f64]) -> Vec<f64> {
    values.iter().map(|&v| round(v, 4)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let d: Vec<Duration> = (1..=200).map(Duration::from_millis).collect();
        assert_eq!(percentile(&d, 0.50), 100.0);
        assert_eq!(percentile(&d, 0.99), 198.0);
        assert_eq!(percentile(&d[..1], 0.99), 1.0);
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    fn report_with_memory(baseline: Option<Footprint>) -> Report {
        let setting = Setting {
            tether: "tether 0.0.0".to_owned(),
            node: "v22.0.0".to_owned(),
            mcp_remote: "0.0.0".to_owned(),
            server_everything: "0.0.0".to_owned(),
            cpus: 2,
        };
        let mut report = Report::new(setting, 1, 0, 2);
        let ms = Duration::from_millis;
        for subject in Subject::ALL {
            let rss = (subject != Subject::Direct).then_some(10.0);
            report.add(subject, Sample::new(ms(10), vec![ms(1), ms(2)], rss, ms(1)));
        }
        report.set_memory(Memory {
            bridges: 3,
            calls: 20,
            tether: Footprint {
                pss_mb: vec![2.0, 3.0, 4.0],
                private_mb: vec![1.0, 1.0, 1.0],
                rss_mb: vec![9.0, 9.0, 9.0],
            },
            mcp_remote: Footprint {
                pss_mb: vec![60.0, 60.0, 60.0],
                private_mb: vec![50.0, 50.0, 50.0],
                rss_mb: vec![100.0, 110.0, 120.0],
            },
            baseline,
        });
        report
    }

    #[test]
    fn the_memory_table_gives_the_means_per_bridge_and_the_pss_target_and_ratio() {
        let text = report_with_memory(None).text();
        let line = |start: &str| {
            text.lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .find(|l| l.starts_with(start))
                .unwrap_or_else(|| panic!("no line {start:?} in\n{text}"))
        };
        assert_eq!(
            line("memory, 3 bridges at once"),
            "memory, 3 bridges at once tether mcp-remote"
        );
        assert_eq!(line("PSS per bridge (MB)"), "PSS per bridge (MB) 3.0 60.0");
        assert_eq!(line("private per bridge (MB)"), "private per bridge (MB) 1.0 50.0");
        assert_eq!(line("RSS per bridge (MB)"), "RSS per bridge (MB) 9.0 110.0");
        assert_eq!(
            line("PSS per bridge tether"),
            "PSS per bridge tether 3.0 MB, mcp-remote 60.0 MB (20x less)"
        );
        assert_eq!(
            line("PASS tether PSS per bridge"),
            "PASS tether PSS per bridge under 8 MB 3.0 MB (3 at once)"
        );
        // The existing figures are still there, unchanged.
        assert_eq!(line("MISS tether peak RSS"), "MISS tether peak RSS under 8 MB 10.0 MB");
    }

    #[test]
    fn a_baseline_gets_a_memory_column_and_a_pss_over_8_mb_misses() {
        let heavy = Footprint {
            pss_mb: vec![9.0, 9.0, 9.0],
            private_mb: vec![5.0, 5.0, 5.0],
            rss_mb: vec![12.0, 12.0, 12.0],
        };
        let mut report = report_with_memory(Some(heavy.clone()));
        let text = report.text();
        assert!(text.contains("tether  mcp-remote    baseline\n"), "{text}");
        assert!(text.contains("3.0        60.0         9.0\n"), "{text}");
        report.memory.as_mut().unwrap().tether = heavy;
        let text = report.text();
        assert!(text.contains("MISS  tether PSS per bridge under 8 MB"), "{text}");
    }

    #[test]
    fn the_json_has_the_memory_figures_per_bridge_and_the_pss_target() {
        let json = report_with_memory(None).json();
        let memory = &json["memory"];
        assert_eq!(memory["concurrent_bridges"], 3);
        assert_eq!(memory["calls_per_bridge"], 20);
        assert_eq!(memory["subjects"]["tether"]["pss_mb"]["mean"], 3.0);
        assert_eq!(
            memory["subjects"]["tether"]["pss_mb"]["bridges"],
            json!([2.0, 3.0, 4.0])
        );
        assert_eq!(memory["subjects"]["mcp-remote"]["rss_mb"]["mean"], 110.0);
        assert_eq!(memory["subjects"]["mcp-remote"]["private_mb"]["mean"], 50.0);
        assert!(memory["subjects"].get("baseline").is_none());
        assert_eq!(memory["mcp_remote_vs_tether"]["pss_ratio"], 20.0);
        let target = json["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "tether PSS per bridge under 8 MB")
            .expect("the PSS target");
        assert_eq!(target["value"], 3.0);
        assert_eq!(target["pass"], true);
        // The existing figures keep their place and names.
        assert_eq!(json["subjects"]["tether"]["peak_rss_mb"]["median"], 10.0);
        assert_eq!(json["targets"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn without_the_memory_phase_there_is_no_memory_table_nor_pss_target() {
        let mut report = report_with_memory(None);
        report.memory = None;
        let text = report.text();
        assert!(!text.contains("bridges at once"), "{text}");
        assert!(!text.contains("PSS"), "{text}");
        let json = report.json();
        assert!(json["memory"].is_null());
        assert_eq!(json["targets"].as_array().unwrap().len(), 3);
    }
}
